package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Event kinds the pull source records (KARMAGATE_SOURCE).
const (
	// EventSourceRefused: a row of the source's query was refused (a bad
	// id, karma that is not an integer, an unknown group, …) and skipped.
	EventSourceRefused = "source.refused"
	// EventSourceFailed: a poll of the source failed as a whole.
	EventSourceFailed = "source.failed"
	// EventSourceHeld: a poll would have deleted more members than the
	// rules' source.max_delete allows, and deleted none.
	EventSourceHeld = "source.held"
)

// MemberPage returns up to limit members whose external id sorts after
// after, in external id order, with only what the website sets (karma,
// groups, name, phone, username): for comparing the store with a source
// page by page.
func (s *Store) MemberPage(ctx context.Context, after string, limit int) ([]Member, error) {
	var out []Member
	err := s.db.read.WithContext(ctx).Model(&Member{}).
		Select("id, external_id, karma, group_list, name, phone, username").
		Where("external_id > ?", after).Order("external_id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// RecordEvents writes audit events that go with no change of the store's
// own (a refused source row, a failed poll), in one transaction. An event
// without a time gets the store's clock.
func (s *Store) RecordEvents(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	now := s.clock()
	rows := make([][]any, len(events))
	for i, e := range events {
		if e.At.IsZero() {
			e.At = now
		}
		rows[i] = []any{e.At.UTC(), Truncate(e.Actor, 128), e.Kind, e.MemberExt, e.ChatKey, e.FromState, e.ToState, Truncate(e.Detail, 1000)}
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		err := s.insertRows(tx, "events", []string{"at", "actor", "kind", "member_ext", "chat_key", "from_state", "to_state", "detail"}, rows, onConflict{})
		if err != nil {
			return fmt.Errorf("write events: %w", err)
		}
		return nil
	})
}
