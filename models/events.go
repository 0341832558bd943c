package models

import (
	"context"
	"fmt"
)

// EventFilter selects audit events; zero fields match everything. Events
// come newest first; Before pages back.
type EventFilter struct {
	Member string
	Chat   string
	Kind   string
	Before int64 // only events with a smaller id
	Limit  int   // default 100, at most 1000
}

// Events returns audit events matching f, newest first.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	q := s.db.read.WithContext(ctx).Model(&Event{})
	if f.Member != "" {
		q = q.Where("member_ext = ?", f.Member)
	}
	if f.Chat != "" {
		q = q.Where("chat_key = ?", f.Chat)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var out []Event
	if err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return out, nil
}
