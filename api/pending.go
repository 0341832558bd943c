package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/karmagate/karmagate/models"
)

// pendingShown bounds the removals GET …/pending lists; count says how
// many are held in all.
const pendingShown = 1000

// pendingChat is the chat key in the path, checked against the rules.
func (s *Server) pendingChat(r *http.Request) (string, error) {
	chat := r.PathValue("key")
	if _, ok := s.store.Rules().Chat(chat); !ok {
		return "", problem(http.StatusNotFound, "not-found", "no gated chat "+truncate(chat, 64)+" in the rules")
	}
	return chat, nil
}

func pendingLinks(chat string) map[string]any {
	base := "/api/v1/chats/" + url.PathEscape(chat) + "/pending"
	return map[string]any{"self": link(base), "confirm": link(base + "/confirm"),
		"events": link("/api/v1/events?chat=" + url.QueryEscape(chat))}
}

// pending lists the removals held in a chat, under dry run or by the
// removal breaker (hold_reason "dry_run" or "breaker"), until an admin
// confirms them, and where the chat's breaker stands.
func (s *Server) pending(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	chat, err := s.pendingChat(r)
	if err != nil {
		return err
	}
	as, total, err := s.store.HeldRemovals(r.Context(), chat, pendingShown)
	if err != nil {
		return err
	}
	st, err := s.store.ChatDryRun(r.Context(), chat)
	if err != nil {
		return err
	}
	br, err := s.store.ChatBreaker(r.Context(), chat)
	if err != nil {
		return err
	}
	type removal struct {
		Member         *string   `json:"member"`
		TelegramUserID *int64    `json:"telegram_user_id"`
		Reason         string    `json:"reason"`
		HoldReason     string    `json:"hold_reason"` // dry_run or breaker
		PlannedAt      time.Time `json:"planned_at"`
	}
	out := make([]removal, len(as))
	for i, a := range as {
		out[i] = removal{TelegramUserID: a.TgUserID, Reason: a.Reason, HoldReason: holdReason(a.Hold), PlannedAt: a.CreatedAt.UTC()}
		if a.MemberExt != "" {
			out[i].Member = &a.MemberExt
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"chat": chat, "dry_run": st.On, "count": total, "removals": out, "breaker": breakerJSON(br), "_links": pendingLinks(chat),
	})
	return nil
}

// holdReason is why a removal is held, as the API says it.
func holdReason(hold string) string {
	if hold == models.HoldBreaker {
		return models.HoldBreaker
	}
	return models.HoldDryRun
}

// breakerJSON is a chat's removal breaker as the API shows it.
func breakerJSON(b models.BreakerStatus) map[string]any {
	out := map[string]any{
		"open": b.Open, "max_removals": b.Cap.String(), "limit": b.Limit,
		"window_seconds": int64(b.Window / time.Second), "started": b.Started, "held": b.Held, "opened_at": nil,
	}
	if b.Open {
		out["opened_at"] = b.OpenedAt.UTC()
	}
	return out
}

// confirmPending releases the removals held in a chat (dry run and
// breaker alike, and closes its breaker): the workers carry them out. It
// answers how many it released (0 when none were held).
func (s *Server) confirmPending(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	chat, err := s.pendingChat(r)
	if err != nil {
		return err
	}
	who, err := actor(r)
	if err != nil {
		return err
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	n, err := s.store.ConfirmRemovals(ctx, chat, who)
	if err != nil {
		return err
	}
	if n > 0 && s.wake != nil {
		s.wake()
	}
	st, err := s.store.ChatDryRun(r.Context(), chat)
	if err != nil {
		return err
	}
	br, err := s.store.ChatBreaker(r.Context(), chat)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": chat, "confirmed": n, "dry_run": st.On, "breaker": breakerJSON(br), "_links": pendingLinks(chat)})
	return nil
}
