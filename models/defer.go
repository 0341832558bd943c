package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// EventActionDeferred records that Telegram asked for an action to wait.
const EventActionDeferred = "action.deferred"

// DeferAction hands a leased action back to run again at until, without
// counting the attempt as a failure: Telegram asked for the wait
// (retry_after, FLOOD_WAIT_X), the executor's own pacing did, or the worker
// released it unstarted at shutdown
// (cause nil: no event is recorded).
func (s *Store) DeferAction(ctx context.Context, id int64, owner, actor string, until time.Time, cause error) error {
	return s.settle(ctx, id, owner, func(tx *gorm.DB, a *Action, now time.Time) error {
		a.Status, a.NotBefore = ActionPending, until.UTC()
		if a.Attempts > 0 {
			a.Attempts--
			if err := tx.Model(&Action{}).Where("id = ?", a.ID).Update("attempts", a.Attempts).Error; err != nil {
				return fmt.Errorf("restore attempts: %w", err)
			}
		}
		if cause == nil {
			return nil // handed back unstarted: nothing happened
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventActionDeferred, MemberExt: &a.MemberExt, ChatKey: &a.ChatKey,
			Detail: Truncate(fmt.Sprintf("%s waits until %s: %v", a.Kind, a.NotBefore.Format(time.RFC3339), cause), 1000)}).Error
	})
}
