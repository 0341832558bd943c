package models

import (
	"context"
	"fmt"

	"github.com/karmagate/karmagate/gate"
)

// ChatSummary is a gated chat with how many members are in each state.
type ChatSummary struct {
	Chat     *gate.Chat
	TgChatID *int64
	Counts   map[gate.State]int64
}

// ChatSummaries returns every chat of the rules with its state counts.
func (s *Store) ChatSummaries(ctx context.Context) ([]ChatSummary, error) {
	tx := s.db.gorm.WithContext(ctx)
	var counts []struct {
		ChatKey string
		State   string
		N       int64
	}
	if err := tx.Model(&ChatState{}).Select("chat_key, state, COUNT(*) AS n").Group("chat_key, state").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("count chat states: %w", err)
	}
	var rows []ChatRow
	if err := tx.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load chats: %w", err)
	}
	var members int64
	if err := tx.Model(&Member{}).Count(&members).Error; err != nil {
		return nil, fmt.Errorf("count members: %w", err)
	}
	out := make([]ChatSummary, len(s.rules.Chats))
	for i, c := range s.rules.Chats {
		out[i] = ChatSummary{Chat: c, Counts: map[gate.State]int64{}}
		for _, st := range gate.States {
			out[i].Counts[st] = 0
		}
		// Members without a recorded state are not eligible; the rows that
		// say not_eligible are counted among them.
		recorded := int64(0)
		for _, n := range counts {
			if n.ChatKey == c.Key && n.State != string(gate.StateNotEligible) {
				out[i].Counts[gate.State(n.State)] = n.N
				recorded += n.N
			}
		}
		out[i].Counts[gate.StateNotEligible] = max(members-recorded, 0)
		for _, r := range rows {
			if r.ChatKey == c.Key {
				out[i].TgChatID = r.TgChatID
			}
		}
	}
	return out, nil
}
