package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/karmagate/karmagate/models"
)

// PeopleCounter asks Telegram how many people are inside a bound chat
// besides its admins (getChatMemberCount minus getChatAdministrators) and
// records the count. The bot provides it; without one, GET
// /api/v1/chats/{key} shows the count last recorded.
type PeopleCounter interface {
	PeopleInside(ctx context.Context, key string) (int, error)
}

// countWait bounds how long GET /api/v1/chats/{key} waits for Telegram's
// count (paced with every other call); then it shows the last one.
const countWait = 5 * time.Second

// chat is one gated chat with its state counts, whether it holds its
// removals, and who is inside: counted by Telegram (besides the admins),
// known to karmagate (linked members recorded inside), strangers (linked
// to no member, known by an audit or seen in the group) and unknown (the
// rest). ?count=false shows the count last recorded instead of asking
// Telegram.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "count")
	if err != nil {
		return err
	}
	live := true
	switch q.Get("count") {
	case "", "true":
	case "false":
		live = false
	default:
		return badParam("count", "must be true or false")
	}
	chat, err := s.pendingChat(r)
	if err != nil {
		return err
	}
	sums, err := s.store.ChatSummaries(r.Context())
	if err != nil {
		return err
	}
	var out map[string]any
	for _, c := range sums {
		if c.Chat.Key == chat {
			out = chatJSON(c)
			if live && c.TgChatID != nil && s.people != nil {
				ctx, cancel := context.WithTimeout(r.Context(), countWait)
				if _, err := s.people.PeopleInside(ctx, chat); err != nil && !errors.Is(err, models.ErrNotFound) {
					s.log.WarnContext(r.Context(), "count the people inside: showing the last count", "chat", chat, "err", err)
				}
				cancel()
			}
			out["strangers_rule"] = c.Chat.Strangers.String()
		}
	}
	st, err := s.store.ChatDryRun(r.Context(), chat)
	if err != nil {
		return err
	}
	p, err := s.store.ChatPeople(r.Context(), chat)
	if err != nil {
		return err
	}
	var countedAt *time.Time
	if p.CountedAt != nil {
		t := p.CountedAt.UTC()
		countedAt = &t
	}
	out["dry_run"] = st.On
	out["people"] = map[string]any{"inside": p.Inside, "known": p.Known, "strangers": p.Strangers, "unknown": p.Unknown(), "counted_at": countedAt}
	links := out["_links"].(map[string]any)
	links["chats"] = link("/api/v1/chats")
	writeJSON(w, http.StatusOK, out)
	return nil
}
