package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Userbot states. An account in any state but ready is not used.
const (
	UserbotCodeSent       = "code_sent"       // login begun: waiting for the code
	UserbotPasswordNeeded = "password_needed" // code accepted: waiting for the 2FA password
	UserbotReady          = "ready"           // logged in: in the pool
	UserbotUnauthorized   = "unauthorized"    // the session was ended (AUTH_KEY_UNREGISTERED, SESSION_REVOKED): log in again
	UserbotFrozen         = "frozen"          // Telegram froze the account (FROZEN_METHOD_INVALID)
	UserbotDeactivated    = "deactivated"     // the account was deleted or banned (USER_DEACTIVATED…)
)

// Event kinds of the userbot pool.
const (
	EventUserbotReady   = "userbot.ready"
	EventUserbotLost    = "userbot.lost"
	EventUserbotRemoved = "userbot.removed"
	EventUserbotLimited = "userbot.limited"
	EventGroupCreated   = "chat.created"
)

// Userbot is a Telegram user account of the pool. Session and Login are
// sealed (package vault) with the account id as associated data.
type Userbot struct {
	ID       int64 `gorm:"primaryKey"`
	Phone    string
	TgUserID *int64 `gorm:"column:tg_user_id"`
	Username *string
	Name     string
	State    string
	// Session is the sealed MTProto session (auth key, DC, salt).
	Session []byte
	// Login is the sealed state of a login in progress (phone_code_hash).
	Login          []byte
	LoginExpiresAt *time.Time
	// Channels is how many channels and supergroups the account is in, and
	// ChannelCap how many it may be in (help.getAppConfig).
	Channels   int
	ChannelCap int
	// PeerFloodAt is when Telegram answered PEER_FLOOD: the account adds
	// nobody to groups any more.
	PeerFloodAt *time.Time
	LastError   string
	LeaseOwner  *string
	LeaseUntil  *time.Time
	ReadyAt     *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the userbots table.
func (Userbot) TableName() string { return "userbots" }

// UserbotWait is a FLOOD_WAIT: the account may not call Method before Until.
type UserbotWait struct {
	UserbotID int64  `gorm:"primaryKey;autoIncrement:false"`
	Method    string `gorm:"primaryKey"`
	Until     time.Time
}

// TableName is the userbot_waits table.
func (UserbotWait) TableName() string { return "userbot_waits" }

// Peer kinds.
const (
	PeerUser    = "user"
	PeerChannel = "channel"
)

// UserbotPeer is a user or supergroup an account has seen, with the access
// hash its calls need.
type UserbotPeer struct {
	UserbotID  int64  `gorm:"primaryKey;autoIncrement:false"`
	Kind       string `gorm:"primaryKey"`
	PeerID     int64  `gorm:"primaryKey;autoIncrement:false"`
	AccessHash int64
	Username   *string
	SeenAt     time.Time
}

// TableName is the userbot_peers table.
func (UserbotPeer) TableName() string { return "userbot_peers" }

// UserbotGroup is one attempt of an account to create a gated chat's group.
type UserbotGroup struct {
	ID         int64 `gorm:"primaryKey"`
	UserbotID  int64
	ChatKey    string
	Title      string
	StartedAt  time.Time
	ChannelID  *int64
	AccessHash *int64
	DoneAt     *time.Time
}

// TableName is the userbot_groups table.
func (UserbotGroup) TableName() string { return "userbot_groups" }

// ErrUserbotExists means the Telegram account is in the pool already.
var ErrUserbotExists = errors.New("this Telegram account is already in the pool")

// Userbots stores the userbot pool's accounts. It needs no rules, so that
// `karmagate userbot list` works with only a database.
type Userbots struct {
	db  *DB
	now func() time.Time
}

// NewUserbots returns the account store over db; now is the clock
// (time.Now when nil).
func NewUserbots(db *DB, now func() time.Time) *Userbots {
	if now == nil {
		now = time.Now
	}
	return &Userbots{db: db, now: now}
}

// Userbots returns the account store on the store's database and clock.
func (s *Store) Userbots() *Userbots { return &Userbots{db: s.db, now: s.now} }

var nopLogger = slog.New(slog.DiscardHandler)

func (u *Userbots) clock() time.Time { return u.now().UTC().Truncate(time.Microsecond) }

func (u *Userbots) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	s := &Store{db: u.db, now: u.now, log: nopLogger}
	return s.inTx(ctx, fn)
}

// CreateUserbot adds an account whose login has begun. seal is given the
// new row's id and returns the sealed session and login state; if it
// fails nothing is stored.
func (u *Userbots) CreateUserbot(ctx context.Context, phone string, expires time.Time, seal func(id int64) (session, login []byte, err error)) (*Userbot, error) {
	var out *Userbot
	err := u.inTx(ctx, func(tx *gorm.DB) error {
		now := u.clock()
		exp := expires.UTC()
		row := Userbot{Phone: phone, State: UserbotCodeSent, ChannelCap: 500, LoginExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("add userbot: %w", err)
		}
		session, login, err := seal(row.ID)
		if err != nil {
			return err
		}
		row.Session, row.Login = session, login
		if err := tx.Model(&Userbot{}).Where("id = ?", row.ID).Updates(map[string]any{"session": session, "login": login}).Error; err != nil {
			return fmt.Errorf("store login: %w", err)
		}
		out = &row
		return nil
	})
	return out, err
}

// Userbot returns one account.
func (u *Userbots) Userbot(ctx context.Context, id int64) (*Userbot, error) {
	return takeOne[Userbot](u.db.read.WithContext(ctx).Where("id = ?", id), fmt.Sprintf("userbot %d", id))
}

// ListUserbots returns every account, oldest first.
func (u *Userbots) ListUserbots(ctx context.Context) ([]Userbot, error) {
	var rows []Userbot
	if err := u.db.read.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list userbots: %w", err)
	}
	return rows, nil
}

// SaveLogin records a login's progress: its state, sealed session and
// sealed login state.
func (u *Userbots) SaveLogin(ctx context.Context, id int64, state string, session, login []byte) error {
	err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("id = ?", id).Updates(map[string]any{
		"state": state, "session": session, "login": login, "updated_at": u.clock(),
	}).Error
	if err != nil {
		return fmt.Errorf("store login: %w", err)
	}
	return nil
}

// TelegramAccount is who a logged-in account is.
type TelegramAccount struct {
	ID       int64
	Username string
	Name     string
	Phone    string // E.164; fills in a login's phone when it had none (QR)
}

// SetReady completes a login: the account joins the pool with its sealed
// session. A Telegram account in the pool already is ErrUserbotExists
// (naming its id); the login's row is then removed.
func (u *Userbots) SetReady(ctx context.Context, id int64, acc TelegramAccount, session []byte, actor string) error {
	var dup int64
	err := u.inTx(ctx, func(tx *gorm.DB) error {
		now := u.clock()
		dup = 0
		var other Userbot
		err := tx.Where("tg_user_id = ? AND id <> ?", acc.ID, id).Take(&other).Error
		if err == nil {
			dup = other.ID
			return tx.Where("id = ?", id).Delete(&Userbot{}).Error
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("check account: %w", err)
		}
		if acc.Phone != "" {
			if err := tx.Model(&Userbot{}).Where("id = ? AND phone = ''", id).Update("phone", acc.Phone).Error; err != nil {
				return fmt.Errorf("store phone: %w", err)
			}
		}
		res := tx.Model(&Userbot{}).Where("id = ?", id).Updates(map[string]any{
			"state": UserbotReady, "tg_user_id": acc.ID, "username": blankToNil(&acc.Username), "name": acc.Name,
			"session": session, "login": nil, "login_expires_at": nil, "last_error": "", "ready_at": now, "updated_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("store session: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("userbot %d: %w", id, ErrNotFound)
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventUserbotReady,
			Detail: fmt.Sprintf("userbot %d logged in as Telegram user %d", id, acc.ID)}).Error
	})
	if err == nil && dup != 0 {
		return fmt.Errorf("this account (Telegram user %d) is userbot %d: %w", acc.ID, dup, ErrUserbotExists)
	}
	return err
}

// SaveSession stores an account's sealed session (gotd saves it when the
// connection's salt or config changes).
func (u *Userbots) SaveSession(ctx context.Context, id int64, session []byte) error {
	err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("id = ?", id).
		Updates(map[string]any{"session": session, "updated_at": u.clock()}).Error
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// DeleteUserbot removes an account and everything kept for it.
func (u *Userbots) DeleteUserbot(ctx context.Context, id int64, actor, why string) error {
	return u.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&Userbot{})
		if res.Error != nil {
			return fmt.Errorf("delete userbot: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("userbot %d: %w", id, ErrNotFound)
		}
		for _, m := range []any{&UserbotWait{}, &UserbotPeer{}} {
			if err := tx.Where("userbot_id = ?", id).Delete(m).Error; err != nil {
				return fmt.Errorf("delete userbot: %w", err)
			}
		}
		if why == "" {
			return nil
		}
		return tx.Create(&Event{At: u.clock(), Actor: actor, Kind: EventUserbotRemoved, Detail: Truncate(fmt.Sprintf("userbot %d: %s", id, why), 1000)}).Error
	})
}

// SetUserbotLost takes an account out of the pool: Telegram ended its
// session, froze or deactivated it. The state shows why; an audit event
// records it.
func (u *Userbots) SetUserbotLost(ctx context.Context, id int64, state, reason, actor string) error {
	return u.inTx(ctx, func(tx *gorm.DB) error {
		now := u.clock()
		res := tx.Model(&Userbot{}).Where("id = ? AND state = ?", id, UserbotReady).Updates(map[string]any{
			"state": state, "last_error": Truncate(reason, 1000), "lease_owner": nil, "lease_until": nil, "updated_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("record lost userbot: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // not ready any more: recorded already
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventUserbotLost,
			Detail: Truncate(fmt.Sprintf("userbot %d left the pool (%s): %s", id, state, reason), 1000)}).Error
	})
}

// SetUserbotError records the last error an account met (shown in lists).
func (u *Userbots) SetUserbotError(ctx context.Context, id int64, msg string) error {
	err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("id = ?", id).Update("last_error", Truncate(msg, 1000)).Error
	if err != nil {
		return fmt.Errorf("record userbot error: %w", err)
	}
	return nil
}

// SetPeerFlood records that an account got PEER_FLOOD: it adds nobody any
// more.
func (u *Userbots) SetPeerFlood(ctx context.Context, id int64, actor string) error {
	return u.inTx(ctx, func(tx *gorm.DB) error {
		now := u.clock()
		res := tx.Model(&Userbot{}).Where("id = ? AND peer_flood_at IS NULL", id).Updates(map[string]any{
			"peer_flood_at": now, "last_error": "PEER_FLOOD: Telegram limited this account; it adds nobody to groups any more", "updated_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("record peer flood: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventUserbotLimited,
			Detail: fmt.Sprintf("userbot %d got PEER_FLOOD: direct adds stopped on it", id)}).Error
	})
}

// SetChannels records how many channels an account is in and its cap.
func (u *Userbots) SetChannels(ctx context.Context, id int64, channels, limit int) error {
	upd := map[string]any{"channels": channels, "updated_at": u.clock()}
	if limit > 0 {
		upd["channel_cap"] = limit
	}
	if err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("id = ?", id).Updates(upd).Error; err != nil {
		return fmt.Errorf("record channel count: %w", err)
	}
	return nil
}

// AcquireUserbot leases a ready account to owner until now+ttl, unless
// another owner holds an unexpired lease. It reports whether owner holds
// it now.
func (u *Userbots) AcquireUserbot(ctx context.Context, id int64, owner string, ttl time.Duration) (bool, error) {
	now := u.clock()
	res := u.db.gorm.WithContext(ctx).Model(&Userbot{}).
		// A lease runs out, or its holder is known dead (its pid gone from
		// its host, MarkDead). A holder whose heart merely stopped may still
		// be running its client, cut off from the database: it stops that
		// client before its lease ends (userbot.Pool), and two clients on
		// one session would kill it for good, so its lease is waited out.
		Where("id = ? AND state = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ? OR lease_owner IN (SELECT owner FROM instances WHERE heartbeat_ms = 0))", id, UserbotReady, owner, now).
		Updates(map[string]any{"lease_owner": owner, "lease_until": now.Add(ttl)})
	if res.Error != nil {
		return false, fmt.Errorf("lease userbot: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RenewUserbots extends owner's leases by ttl and returns the ids of the
// ready accounts it still holds.
func (u *Userbots) RenewUserbots(ctx context.Context, owner string, ttl time.Duration) ([]int64, error) {
	now := u.clock()
	err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("lease_owner = ? AND state = ?", owner, UserbotReady).
		Update("lease_until", now.Add(ttl)).Error
	if err != nil {
		return nil, fmt.Errorf("renew userbot leases: %w", err)
	}
	var ids []int64
	if err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("lease_owner = ? AND state = ?", owner, UserbotReady).Order("id").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list leased userbots: %w", err)
	}
	return ids, nil
}

// ReleaseUserbot gives up owner's lease on an account (all of owner's
// leases when id is 0), so that another instance may take it at once.
func (u *Userbots) ReleaseUserbot(ctx context.Context, owner string, id int64) error {
	q := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("lease_owner = ?", owner)
	if id != 0 {
		q = q.Where("id = ?", id)
	}
	if err := q.Updates(map[string]any{"lease_owner": nil, "lease_until": nil}).Error; err != nil {
		return fmt.Errorf("release userbot lease: %w", err)
	}
	return nil
}

// PruneLogins removes logins begun before their expiry and never
// finished, and reports how many.
func (u *Userbots) PruneLogins(ctx context.Context) (int64, error) {
	res := u.db.gorm.WithContext(ctx).Where("state IN ? AND login_expires_at < ?",
		[]string{UserbotCodeSent, UserbotPasswordNeeded}, u.clock()).Delete(&Userbot{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune logins: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// SetWait records a FLOOD_WAIT: the account may not call method before
// until.
func (u *Userbots) SetWait(ctx context.Context, id int64, method string, until time.Time) error {
	w := UserbotWait{UserbotID: id, Method: method, Until: until.UTC().Truncate(time.Microsecond)}
	err := u.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "userbot_id"}, {Name: "method"}}, DoUpdates: clause.Assignments(map[string]any{"until": w.Until}),
	}).Create(&w).Error
	if err != nil {
		return fmt.Errorf("record flood wait: %w", err)
	}
	return nil
}

// Waits returns the flood waits not yet over, of one account (every
// account when id is 0).
func (u *Userbots) Waits(ctx context.Context, id int64) ([]UserbotWait, error) {
	q := u.db.read.WithContext(ctx).Where("until > ?", u.clock()).Order("userbot_id, method")
	if id != 0 {
		q = q.Where("userbot_id = ?", id)
	}
	var out []UserbotWait
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load flood waits: %w", err)
	}
	return out, nil
}

// SavePeers records access hashes an account has seen (newest wins).
func (u *Userbots) SavePeers(ctx context.Context, peers []UserbotPeer) error {
	if len(peers) == 0 {
		return nil
	}
	now := u.clock()
	for i := range peers {
		peers[i].SeenAt = now
	}
	return chunks(peers, 200, func(part []UserbotPeer) error {
		err := u.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "userbot_id"}, {Name: "kind"}, {Name: "peer_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"access_hash", "username", "seen_at"}),
		}).Create(&part).Error
		if err != nil {
			return fmt.Errorf("record peers: %w", err)
		}
		return nil
	})
}

// Peer returns what an account knows of a user or supergroup.
func (u *Userbots) Peer(ctx context.Context, id int64, kind string, peerID int64) (*UserbotPeer, error) {
	return takeOne[UserbotPeer](u.db.read.WithContext(ctx).Where("userbot_id = ? AND kind = ? AND peer_id = ?", id, kind, peerID),
		fmt.Sprintf("%s %d of userbot %d", kind, peerID, id))
}

// PeerHolders returns the accounts that know a user or supergroup.
func (u *Userbots) PeerHolders(ctx context.Context, kind string, peerID int64) ([]UserbotPeer, error) {
	var out []UserbotPeer
	if err := u.db.read.WithContext(ctx).Where("kind = ? AND peer_id = ?", kind, peerID).Order("userbot_id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load peers: %w", err)
	}
	return out, nil
}

// ForgetPeer drops what an account knew of a peer (it left the group).
func (u *Userbots) ForgetPeer(ctx context.Context, id int64, kind string, peerID int64) error {
	if err := u.db.gorm.WithContext(ctx).Where("userbot_id = ? AND kind = ? AND peer_id = ?", id, kind, peerID).Delete(&UserbotPeer{}).Error; err != nil {
		return fmt.Errorf("forget peer: %w", err)
	}
	return nil
}

// BeginGroup records that an account is about to create a chat's group.
func (u *Userbots) BeginGroup(ctx context.Context, id int64, chat, title string) (*UserbotGroup, error) {
	g := UserbotGroup{UserbotID: id, ChatKey: chat, Title: title, StartedAt: u.clock()}
	if err := u.db.gorm.WithContext(ctx).Create(&g).Error; err != nil {
		return nil, fmt.Errorf("record group creation: %w", err)
	}
	return &g, nil
}

// FinishGroup records the channel an attempt created.
func (u *Userbots) FinishGroup(ctx context.Context, groupID, channelID, accessHash int64) error {
	err := u.db.gorm.WithContext(ctx).Model(&UserbotGroup{}).Where("id = ?", groupID).Updates(map[string]any{
		"channel_id": channelID, "access_hash": accessHash, "done_at": u.clock(),
	}).Error
	if err != nil {
		return fmt.Errorf("record created group: %w", err)
	}
	return nil
}

// AbandonGroup forgets an attempt that certainly created nothing.
func (u *Userbots) AbandonGroup(ctx context.Context, groupID int64) error {
	if err := u.db.gorm.WithContext(ctx).Where("id = ? AND channel_id IS NULL", groupID).Delete(&UserbotGroup{}).Error; err != nil {
		return fmt.Errorf("forget group attempt: %w", err)
	}
	return nil
}

// Groups returns a chat's creation attempts, oldest first.
func (u *Userbots) Groups(ctx context.Context, chat string) ([]UserbotGroup, error) {
	var out []UserbotGroup
	if err := u.db.read.WithContext(ctx).Where("chat_key = ?", chat).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load group attempts: %w", err)
	}
	return out, nil
}

// CreatedSince counts the groups each account began to create since t.
func (u *Userbots) CreatedSince(ctx context.Context, since time.Time) (map[int64]int, error) {
	var rows []struct {
		UserbotID int64
		N         int
	}
	err := u.db.read.WithContext(ctx).Model(&UserbotGroup{}).Select("userbot_id, COUNT(*) AS n").
		Where("started_at >= ?", since.UTC()).Group("userbot_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count created groups: %w", err)
	}
	out := map[int64]int{}
	for _, r := range rows {
		out[r.UserbotID] = r.N
	}
	return out, nil
}

// LoginStep is where a login stands after a step.
type LoginStep struct {
	ID    int64  `json:"id"`
	State string `json:"state"` // code_sent, password_needed or ready
}

// UserbotStatus is an account as lists show it: never a secret.
type UserbotStatus struct {
	ID           int64                `json:"id"`
	Phone        string               `json:"phone"`
	TelegramID   *int64               `json:"telegram_user_id"`
	Username     *string              `json:"username"`
	Name         string               `json:"name"`
	State        string               `json:"state"`
	Channels     int                  `json:"channels"`
	ChannelCap   int                  `json:"channel_cap"`
	CreatedToday int                  `json:"groups_created_24h"`
	AddsStopped  bool                 `json:"adds_stopped"`
	FloodWaits   map[string]time.Time `json:"flood_waits"`
	LastError    string               `json:"last_error"`
	HeldBy       string               `json:"held_by,omitempty"`
	ReadyAt      *time.Time           `json:"ready_at"`
}
