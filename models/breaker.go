package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// The removal breaker: in each chat, at most so many removals start within
// a window (the rules' max_removals, else KARMAGATE_MAX_REMOVALS, else
// gate.DefaultRemovalCap: 10% of the people inside per 24 hours, never
// fewer than 10). Removals beyond the cap are held as under dry run (an
// ActionHeld action, Hold "breaker"), and the chat's breaker opens: from
// then on every new removal in the chat is held until an admin confirms
// (ConfirmRemovals), which releases them and closes the breaker. Opening it
// writes, in the same transaction, an audit event, a DM to each site admin
// (a notify action) and a breaker.opened callback to the website.
//
// The cap is enforced where removals are queued, in the transaction that
// queues them, with the chat's row locked (FOR UPDATE on MySQL; SQLite has
// one writer): two transactions queueing removals in one chat, on one
// instance or several, count each other's removals, so the cap holds
// whatever the number of workers and instances. Workers never decide it.

// Why a removal is or was held (Action.Hold).
const (
	HoldDryRun  = "dry_run" // dry run: rules file, KARMAGATE_DRY_RUN, or a chat bound over people
	HoldBreaker = "breaker" // the removal breaker: more than max_removals in the window
)

// Breaker events and the callback that tells the website.
const (
	EventBreakerOpened = "breaker.opened"
	EventBreakerClosed = "breaker.closed"
	// NoticeBreakerOpened is the kind of the DM to the site admins.
	NoticeBreakerOpened = "breaker_opened"
)

// breakerNames is how many held members the admins' DM names.
const breakerNames = 10

// removalCap is the breaker of chat: the rules', else the configured
// default, else gate.DefaultRemovalCap.
func (s *Store) removalCap(chat string) gate.RemovalCap {
	if c, _ := s.chatIndex(chat); c != nil && !c.MaxRemovals.IsZero() {
		return c.MaxRemovals
	}
	if !s.maxRemovals.IsZero() {
		return s.maxRemovals
	}
	return gate.DefaultRemovalCap
}

// BreakerStatus is where a chat's removal breaker stands.
type BreakerStatus struct {
	Cap      gate.RemovalCap
	Limit    int // removals the cap allows within the window now (-1: off)
	Window   time.Duration
	Inside   int64     // people karmagate knows are inside (the base of a share)
	Started  int64     // removals started within the window, not counting confirmed ones
	Open     bool      // removals are held until an admin confirms
	OpenedAt time.Time // when it opened (zero when closed)
	Held     int64     // removals held by the breaker
}

// breakerCount counts the removals that started in chat since since
// without being held (those an admin confirmed do not count), and the
// people karmagate knows are inside.
func breakerCount(tx *gorm.DB, chat string, since time.Time) (started, inside int64, err error) {
	err = tx.Model(&Action{}).
		Where("chat_key = ? AND kind = ? AND hold = ? AND status IN ? AND created_at > ?",
			chat, string(gate.ActionRemove), "", []string{ActionPending, ActionRunning, ActionDone, ActionFailed}, since).
		Count(&started).Error
	if err != nil {
		return 0, 0, fmt.Errorf("count removals started: %w", err)
	}
	if err := tx.Model(&ChatState{}).Where("chat_key = ? AND in_chat = ?", chat, true).Count(&inside).Error; err != nil {
		return 0, 0, fmt.Errorf("count people inside: %w", err)
	}
	return started, inside, nil
}

// breakerSince is where the window of a chat's cap starts: the window
// back from now, or the last time an admin closed the breaker if later.
func breakerSince(row *ChatRow, window time.Duration, now time.Time) time.Time {
	since := now.Add(-window)
	if row.BreakerResetAt != nil && row.BreakerResetAt.After(since) {
		since = row.BreakerResetAt.UTC()
	}
	return since
}

// ChatBreaker reports where chat's removal breaker stands. An unknown chat
// is ErrNotFound.
func (s *Store) ChatBreaker(ctx context.Context, chat string) (BreakerStatus, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return BreakerStatus{}, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	var st BreakerStatus
	err := s.db.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row ChatRow
		if err := tx.Where("chat_key = ?", chat).Limit(1).Find(&row).Error; err != nil {
			return fmt.Errorf("load chat: %w", err)
		}
		now := s.clock()
		c := s.removalCap(chat)
		st = BreakerStatus{Cap: c, Window: c.WindowOrDefault()}
		var err error
		if st.Started, st.Inside, err = breakerCount(tx, chat, breakerSince(&row, st.Window, now)); err != nil {
			return err
		}
		st.Limit = c.Limit(int(st.Inside))
		if row.BreakerAt != nil {
			st.Open, st.OpenedAt = true, row.BreakerAt.UTC()
		}
		err = tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND status = ? AND hold = ?", chat, string(gate.ActionRemove), ActionHeld, HoldBreaker).
			Count(&st.Held).Error
		if err != nil {
			return fmt.Errorf("count held removals: %w", err)
		}
		return nil
	})
	return st, err
}

// OpenBreakers returns the chats whose removal breaker is open, for the
// metrics: one query.
func (s *Store) OpenBreakers(ctx context.Context) (map[string]bool, error) {
	var keys []string
	if err := s.db.read.WithContext(ctx).Model(&ChatRow{}).Where("breaker_at IS NOT NULL").Pluck("chat_key", &keys).Error; err != nil {
		return nil, fmt.Errorf("load open breakers: %w", err)
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

// capRemovals applies the breaker to removals about to be queued (in
// place, before they are written): in each chat, those beyond the cap, or
// all of them while the chat's breaker is open, are held with Hold
// "breaker". Removals held already (dry run) pass untouched: dry run comes
// first, then the cap. A chat whose breaker opens gets its event, the
// admins' DMs and the website's callback, written in tx.
func (s *Store) capRemovals(tx *gorm.DB, actor string, now time.Time, actions []*Action) error {
	byChat := map[string][]*Action{}
	for _, a := range actions {
		if a.Kind == string(gate.ActionRemove) && a.Status == ActionPending {
			byChat[a.ChatKey] = append(byChat[a.ChatKey], a)
		}
	}
	chats := make([]string, 0, len(byChat))
	for k := range byChat {
		chats = append(chats, k)
	}
	slices.Sort(chats) // lock chat rows in one order
	for _, chat := range chats {
		if err := s.capChat(tx, actor, now, chat, byChat[chat]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) capChat(tx *gorm.DB, actor string, now time.Time, chat string, removals []*Action) error {
	c := s.removalCap(chat)
	if c.Off {
		return nil
	}
	var row ChatRow
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("chat_key = ?", chat).Limit(1).Find(&row).Error; err != nil {
		return fmt.Errorf("lock chat %s: %w", chat, err)
	}
	window := c.WindowOrDefault()
	started, inside, err := breakerCount(tx, chat, breakerSince(&row, window, now))
	if err != nil {
		return err
	}
	limit := c.Limit(int(inside))
	room := max(int64(limit)-started, 0)
	if row.BreakerAt != nil {
		room = 0
	}
	var held []*Action
	for _, a := range removals {
		if room > 0 {
			room--
			continue
		}
		a.Status, a.Hold = ActionHeld, HoldBreaker
		held = append(held, a)
	}
	if len(held) == 0 || row.BreakerAt != nil {
		return nil // nothing held, or held behind a breaker open already
	}
	if row.ChatKey == "" {
		// Never bound: nobody can be removed there, and there is no row
		// to mark. The removals wait all the same.
		return nil
	}
	if err := tx.Model(&ChatRow{}).Where("chat_key = ?", chat).Updates(map[string]any{"breaker_at": now, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("open the breaker of %s: %w", chat, err)
	}
	admitted := int64(len(removals) - len(held))
	return s.breakerOpened(tx, actor, now, chat, c, limit, started+admitted, held)
}

// breakerOpened writes what a breaker opening tells people: the audit
// event, a DM to each site admin and the website's callback.
func (s *Store) breakerOpened(tx *gorm.DB, actor string, now time.Time, chat string, c gate.RemovalCap, limit int, started int64, held []*Action) error {
	title := chat
	if gc, _ := s.chatIndex(chat); gc != nil {
		title = gc.Title
	}
	names, err := s.heldNames(tx, held)
	if err != nil {
		return err
	}
	list := strings.Join(names, ", ")
	if len(held) > len(names) {
		list += fmt.Sprintf(" and %d more", len(held)-len(names))
	}
	window := c.WindowOrDefault()
	detail := fmt.Sprintf("removal breaker open: %d removal(s) started within %s (max_removals %s allows %d); %d held until an admin confirms: %s",
		started, gate.FormatWindow(window), c, limit, len(held), list)
	if err := tx.Create(&Event{At: now, Actor: actor, Kind: EventBreakerOpened, ChatKey: &chat, Detail: Truncate(detail, 1000)}).Error; err != nil {
		return fmt.Errorf("record breaker: %w", err)
	}
	s.log.WarnContext(tx.Statement.Context, "removal breaker open: removals held until an admin confirms", "chat", chat, "started", started, "limit", limit, "held", len(held))
	text := fmt.Sprintf("⚠️ Removal breaker open in %s (%s).\n%d removal(s) started within %s: max_removals %s allows %d. %d more are held, not carried out: %s.\n"+
		"If this is a mistake (a bad push, a wrong rule), fix it on the website and they are dropped. Otherwise send /pending to see them and /confirm to carry them out.",
		title, chat, started, gate.FormatWindow(window), c, limit, len(held), list)
	for _, admin := range s.admins {
		key := fmt.Sprintf("breaker/%s/%d/%d", chat, now.UnixMicro(), admin)
		data, err := json.Marshal(NoticePayload{Key: key, Kind: NoticeBreakerOpened, Text: text})
		if err != nil {
			return fmt.Errorf("encode notice: %w", err)
		}
		_, err = s.insertFresh(tx, "actions", "idem_key", "kind, member_ext, chat_key, tg_user_id, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at, payload",
			"n/"+key, ActionNotify, "", chat, admin, 0, NoticeBreakerOpened, ActionPending, 0, now, "", now, now, string(data))
		if err != nil {
			return fmt.Errorf("queue breaker notice: %w", err)
		}
	}
	if !s.callbacks {
		return nil
	}
	cb := s.newCallback(CallbackBreakerOpened, &Member{}, chat, now)
	cb.Reason = Truncate(detail, 500)
	cb.Breaker = &CallbackBreaker{MaxRemovals: c.String(), Limit: limit, WindowSeconds: int64(window / time.Second),
		Started: started, Held: int64(len(held))}
	return s.writeCallbacks(tx, []Callback{cb}, now)
}

// heldNames names the first held removals: the member's name and id, or
// the Telegram account of a stranger.
func (s *Store) heldNames(tx *gorm.DB, held []*Action) ([]string, error) {
	first := held[:min(len(held), breakerNames)]
	var ids []int64
	for _, a := range first {
		if a.MemberID != 0 {
			ids = append(ids, a.MemberID)
		}
	}
	names := map[int64]string{}
	if len(ids) > 0 {
		var ms []Member
		if err := tx.Select("id, name").Where("id IN ?", ids).Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("load held members: %w", err)
		}
		for _, m := range ms {
			if m.Name != nil && *m.Name != "" {
				names[m.ID] = *m.Name
			}
		}
	}
	out := make([]string, 0, len(first))
	for _, a := range first {
		switch {
		case a.MemberExt != "" && names[a.MemberID] != "":
			out = append(out, fmt.Sprintf("%s (%s)", names[a.MemberID], a.MemberExt))
		case a.MemberExt != "":
			out = append(out, a.MemberExt)
		case a.TgUserID != nil:
			out = append(out, fmt.Sprintf("Telegram user %d", *a.TgUserID))
		}
	}
	return out, nil
}

// closeBreaker closes chat's breaker when it is open (an admin confirmed
// its removals): removals started before now no longer count against the
// cap. It reports whether it was open.
func closeBreaker(tx *gorm.DB, chat, actor string, now time.Time) (bool, error) {
	res := tx.Model(&ChatRow{}).Where("chat_key = ? AND breaker_at IS NOT NULL", chat).
		Updates(map[string]any{"breaker_at": nil, "breaker_reset_at": now, "updated_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("close the breaker: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	err := tx.Create(&Event{At: now, Actor: actor, Kind: EventBreakerClosed, ChatKey: &chat,
		Detail: "removal breaker closed by a confirmation: removals run again, within max_removals from now"}).Error
	return true, err
}
