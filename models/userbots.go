package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
)

// Userbot states. An account in any state but ready is not used.
const (
	UserbotCodeSent       = "code_sent"       // login begun: waiting for the code
	UserbotPasswordNeeded = "password_needed" // code accepted: waiting for the 2FA password
	UserbotReady          = "ready"           // logged in: in the pool
	UserbotUnauthorized   = "unauthorized"    // the session was ended (AUTH_KEY_UNREGISTERED, SESSION_REVOKED): log in again
	UserbotFrozen         = "frozen"          // Telegram froze the account (FROZEN_METHOD_INVALID)
	UserbotDeactivated    = "deactivated"     // the account was deleted or banned (USER_DEACTIVATED…)
	UserbotRestricted     = "restricted"      // quarantined: Telegram limits the account after spam reports (USER_RESTRICTED)
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
