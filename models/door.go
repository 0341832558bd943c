package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The door (rule door: app): a join request the guard bot answered with its
// Mini App stays open until the person qualifies during a visit, or until
// its time runs out and the bot decides it as it would have at once. The
// open request is an outbox action of kind ActionDoor, due at that time:
// whichever comes first (the visit or the worker) closes it, and only
// that one answers Telegram; nothing about it lives only in memory.

// ActionDoor is the outbox kind of an open join request at the door.
const ActionDoor = "door"

// DoorPayload is the join request an ActionDoor holds open.
type DoorPayload struct {
	QueryID    string `json:"query_id"`
	ChatID     int64  `json:"chat_id"` // the group's Bot API id
	UserChatID int64  `json:"user_chat_id"`
	Date       int64  `json:"date"` // the request's, Unix seconds
	Lang       string `json:"lang,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
	Username   string `json:"username,omitempty"`
}

// Door is an open (or closed) join request at the door.
type Door struct {
	ActionID int64
	ChatKey  string
	TgUserID int64
	Payload  DoorPayload
	// Status is the action's: pending while open, running while the worker
	// decides it, done once decided.
	Status   string
	Outcome  string // how it was decided ("approve: …", "queue: …"), once done
	OpenedAt time.Time
	DecideAt time.Time // when the worker decides it, if still open
}

// Open reports whether nobody has begun deciding the request.
func (d *Door) Open() bool { return d.Status == ActionPending }

// OpenDoor records a join request held open at the door until decideAt
// and returns its action's id; fresh is false when the query was opened
// before (an update processed again), and then nothing changed.
func (s *Store) OpenDoor(ctx context.Context, chatKey string, tgUserID int64, p DoorPayload, decideAt time.Time) (id int64, fresh bool, err error) {
	data, err := json.Marshal(p)
	if err != nil {
		return 0, false, fmt.Errorf("encode door: %w", err)
	}
	now := s.clock()
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		key := "door/" + p.QueryID
		var err error
		fresh, err = s.insertFresh(tx, "actions", "idem_key", "kind, member_ext, chat_key, tg_user_id, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at, payload",
			key, ActionDoor, "", chatKey, tgUserID, 0, "", ActionPending, 0, decideAt.UTC(), "", now, now, string(data))
		if err != nil {
			return fmt.Errorf("open door: %w", err)
		}
		if err := tx.Model(&Action{}).Select("id").Where("idem_key = ?", key).Scan(&id).Error; err != nil {
			return fmt.Errorf("open door: read its id: %w", err)
		}
		return nil
	})
	return id, fresh, err
}

// DoorFor is the person's latest join request at the chat's door;
// ErrNotFound when there is none.
func (s *Store) DoorFor(ctx context.Context, chatKey string, tgUserID int64) (*Door, error) {
	var a []Action
	err := s.db.read.WithContext(ctx).Where("kind = ? AND chat_key = ? AND tg_user_id = ?", ActionDoor, chatKey, tgUserID).
		Order("id DESC").Limit(1).Find(&a).Error
	if err != nil {
		return nil, fmt.Errorf("find door: %w", err)
	}
	if len(a) == 0 {
		return nil, ErrNotFound
	}
	return doorOf(&a[0])
}

// DoorOf reads the door an ActionDoor action holds.
func DoorOf(a *Action) (*Door, error) { return doorOf(a) }

func doorOf(a *Action) (*Door, error) {
	d := &Door{ActionID: a.ID, ChatKey: a.ChatKey, Status: a.Status, OpenedAt: a.CreatedAt, DecideAt: a.NotBefore}
	if a.TgUserID != nil {
		d.TgUserID = *a.TgUserID
	}
	if a.Status == ActionDone {
		d.Outcome = a.Reason
	}
	if a.Payload == nil {
		return nil, errors.New("door action without payload")
	}
	if err := json.Unmarshal([]byte(*a.Payload), &d.Payload); err != nil {
		return nil, fmt.Errorf("decode door %d: %w", a.ID, err)
	}
	return d, nil
}

// CloseDoor decides an open request during a visit: it reports false when
// the worker (or another visit) began deciding it first, and then the
// caller must not answer Telegram.
func (s *Store) CloseDoor(ctx context.Context, actionID int64, outcome string) (bool, error) {
	now := s.clock()
	res := s.db.gorm.WithContext(ctx).Model(&Action{}).Where("id = ? AND kind = ? AND status = ?", actionID, ActionDoor, ActionPending).
		Updates(map[string]any{"status": ActionDone, "reason": Truncate(outcome, 500), "updated_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("close door: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReopenDoor hands a request a visit closed back to the worker, due now:
// the visit's answer did not reach Telegram.
func (s *Store) ReopenDoor(ctx context.Context, actionID int64, cause error) error {
	now := s.clock()
	err := s.db.gorm.WithContext(ctx).Model(&Action{}).Where("id = ? AND kind = ? AND status = ?", actionID, ActionDoor, ActionDone).
		Updates(map[string]any{"status": ActionPending, "reason": "", "not_before": now, "last_error": Truncate(cause.Error(), 1000), "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("reopen door: %w", err)
	}
	return nil
}

// SetDoorOutcome records how the worker decided a request it holds.
func (s *Store) SetDoorOutcome(ctx context.Context, actionID int64, outcome string) error {
	err := s.db.gorm.WithContext(ctx).Model(&Action{}).Where("id = ? AND kind = ?", actionID, ActionDoor).
		Update("reason", Truncate(outcome, 500)).Error
	if err != nil {
		return fmt.Errorf("record door outcome: %w", err)
	}
	return nil
}
