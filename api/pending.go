package api

import (
	"net/http"
	"net/url"
	"time"
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

// pending lists the removals planned in a chat under dry run: held until
// an admin confirms them.
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
	type removal struct {
		Member         *string   `json:"member"`
		TelegramUserID *int64    `json:"telegram_user_id"`
		Reason         string    `json:"reason"`
		PlannedAt      time.Time `json:"planned_at"`
	}
	out := make([]removal, len(as))
	for i, a := range as {
		out[i] = removal{TelegramUserID: a.TgUserID, Reason: a.Reason, PlannedAt: a.CreatedAt.UTC()}
		if a.MemberExt != "" {
			out[i].Member = &a.MemberExt
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"chat": chat, "dry_run": st.On, "count": total, "removals": out, "_links": pendingLinks(chat),
	})
	return nil
}

// confirmPending releases the removals held in a chat: the workers carry
// them out. It answers how many it released (0 when none were held).
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
	writeJSON(w, http.StatusOK, map[string]any{"chat": chat, "confirmed": n, "dry_run": st.On, "_links": pendingLinks(chat)})
	return nil
}
