package api

import (
	"net/http"
	"strconv"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// listMembers is GET /api/v1/members: members by id, optionally with their
// state in one chat (?chat=) and only those in one state (?state=), e.g. who
// still has to link Telegram to get into a chat.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "chat", "state", "after", "limit")
	if err != nil {
		return err
	}
	f := models.MemberFilter{Chat: q.Get("chat"), State: gate.State(q.Get("state")), After: q.Get("after")}
	if f.Chat != "" {
		if _, ok := s.store.Rules().Chat(f.Chat); !ok {
			return s.unknownChat(f.Chat)
		}
	}
	if f.State != "" {
		if f.Chat == "" {
			return badParam("state", "state needs chat: the state of a member is per chat")
		}
		if !f.State.Valid() {
			return badParam("state", "unknown state "+strconv.Quote(truncate(string(f.State), 32)))
		}
	}
	if f.After != "" {
		if err := models.CheckID(f.After); err != nil {
			return badID("after", err)
		}
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	f.Limit = limit
	items, err := s.store.ListMembers(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m := map[string]any{
			"id": it.ExternalID, "karma": it.Karma, "groups": it.Groups(), "name": it.Name,
			"telegram": nil, "_links": map[string]any{"self": link(memberPath(it.ExternalID))},
		}
		if it.TgUserID != nil {
			m["telegram"] = map[string]any{"user_id": *it.TgUserID, "username": it.TgUsername}
		}
		if it.State != nil {
			m["state"] = *it.State
			if it.Reason != nil {
				m["reason"] = *it.Reason
			}
		}
		out = append(out, m)
	}
	last := ""
	if len(items) > 0 {
		last = items[len(items)-1].ExternalID
	}
	links := pageLinks("/api/v1/members", q, len(items), limit, "after", last)
	writeJSON(w, http.StatusOK, map[string]any{"members": out, "_links": links})
	return nil
}
