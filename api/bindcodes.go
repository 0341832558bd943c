package api

import (
	"net/http"
	"net/url"
)

// noFields refuses a body that holds any field: for calls that take none
// (an empty body, {} or an empty form are fine).
func noFields(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	kind, body, err := readBody(w, r, bodyJSON, bodyForm)
	if err != nil {
		return err
	}
	var fs []jsonField
	if kind == bodyJSON {
		if fs, err = jsonObjectFields(body); err != nil {
			return err
		}
	}
	_, err = onlyFields(fs, r.PostForm, "this call takes no fields")
	return err
}

// bindCode issues a one-time bind code for a chat: whoever holds it may
// bind a Telegram group to the chat (or unbind it) once, within 15
// minutes, with /bind KEY CODE. The code is shown this once; the store
// keeps only its hash.
func (s *Server) bindCode(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	chat, err := s.pendingChat(r)
	if err != nil {
		return err
	}
	if err := noFields(w, r); err != nil {
		return err
	}
	who, err := actor(r)
	if err != nil {
		return err
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	c, err := s.store.IssueBindCode(ctx, chat, who)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{
		"chat": chat, "code": c.Code, "command": c.Command(), "expires_at": c.ExpiresAt.UTC(),
		"_links": map[string]any{"chats": link("/api/v1/chats"), "events": link("/api/v1/events?chat=" + url.QueryEscape(chat))},
	})
	return nil
}
