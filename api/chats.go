package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/karmagate/karmagate/models"
)

func (s *Server) chats(w http.ResponseWriter, r *http.Request) error {
	sums, err := s.store.ChatSummaries(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(sums))
	for _, c := range sums {
		groups := c.Chat.Groups
		if c.Chat.AnyGroup {
			groups = []string{"*"}
		}
		counts := map[string]int64{}
		for st, n := range c.Counts {
			counts[string(st)] = n
		}
		out = append(out, map[string]any{
			"key": c.Chat.Key, "title": c.Chat.Title, "about": c.Chat.About, "groups": groups,
			"min_karma": c.Chat.MinKarma, "leave_below": c.Chat.LeaveBelow, "grace": c.Chat.Grace.String(),
			"on_violation": c.Chat.OnViolation, "telegram_chat_id": c.TgChatID, "counts": counts,
			"_links": map[string]any{"events": link("/api/v1/events?chat=" + url.QueryEscape(c.Chat.Key))},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": out, "_links": map[string]any{"self": link("/api/v1/chats")}})
	return nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := models.EventFilter{Member: q.Get("member"), Chat: q.Get("chat"), Kind: q.Get("kind")}
	if f.Member != "" {
		if err := models.CheckID(f.Member); err != nil {
			p := problem(http.StatusBadRequest, "invalid-id", err.Error())
			p.Field = "member"
			return p
		}
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return &models.InputError{Field: "before", Detail: "before must be an event id (a positive integer)"}
		}
		f.Before = n
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	f.Limit = limit
	evs, err := s.store.Events(r.Context(), f)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []models.Event{}
	}
	last := ""
	if len(evs) > 0 {
		last = strconv.FormatInt(evs[len(evs)-1].ID, 10)
	}
	links := pageLinks("/api/v1/events", q, len(evs), limit, "before", last)
	writeJSON(w, http.StatusOK, map[string]any{"events": evs, "_links": links})
	return nil
}
