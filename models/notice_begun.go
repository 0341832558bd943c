package models

import (
	"context"
	"fmt"
)

// NoticeBegun reports whether the notice key was begun (sent, refused, or
// cut short): a cheap look before waiting for Telegram's pace, for
// notices a person's every message could ask for again (the bot's
// "you do not qualify" to someone who speaks in a gated group).
func (s *Store) NoticeBegun(ctx context.Context, key string) (bool, error) {
	var n int64
	if err := s.db.read.WithContext(ctx).Model(&Notice{}).Where("idem_key = ?", key).Count(&n).Error; err != nil {
		return false, fmt.Errorf("look up notice %s: %w", key, err)
	}
	return n > 0, nil
}
