package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/karmagate/karmagate/models"
)

// eraseParam reads DELETE's ?erase=: true or false, once; nothing else in
// the query.
func eraseParam(r *http.Request) (bool, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return false, problem(http.StatusBadRequest, "invalid-parameter", "the query string cannot be parsed: "+err.Error())
	}
	for k, v := range q {
		switch {
		case k != "erase":
			return false, badParam(k, "unknown parameter; DELETE /api/v1/members/{id} takes only erase=true or erase=false")
		case len(v) > 1:
			return false, badParam(k, "given more than once; give it once")
		}
	}
	switch v, ok := q["erase"]; {
	case !ok || v[0] == "false":
		return false, nil
	case v[0] == "true":
		return true, nil
	default:
		return false, badParam("erase", "must be true or false, not "+truncate(v[0], 20))
	}
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	erase, err := eraseParam(r)
	if err != nil {
		return err
	}
	who, err := actor(r)
	if err != nil {
		return err
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	if !erase {
		n, err := s.store.DeleteMember(ctx, id, who)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "deleted": true, "erased": false, "actions_queued": n,
			"_links": map[string]any{"events": link("/api/v1/events?member=" + url.QueryEscape(id))},
		})
		return nil
	}
	res, err := s.store.EraseMember(ctx, id, who)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "deleted": true, "erased": true, "pseudonym": res.Pseudonym, "actions_queued": res.Actions,
		"events_rewritten": res.Events, "notifications_rewritten": res.Notifications, "updates_deleted": res.Updates,
		"_links": map[string]any{"events": link("/api/v1/events?member=" + url.QueryEscape(res.Pseudonym))},
	})
	return nil
}

// exportMember is GET /api/v1/members/{id}/export: everything karmagate
// holds on the member, for a data-subject access request.
func (s *Server) exportMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	x, err := s.store.ExportMember(r.Context(), id)
	if err != nil {
		return err
	}
	m := &x.Member
	member := map[string]any{
		"id": m.ExternalID, "karma": m.Karma, "groups": m.Groups(), "name": m.Name, "phone": m.Phone, "username": m.Username,
		"telegram": nil, "language_code": m.LanguageCode, "unreachable_at": utcPtr(m.UnreachableAt),
		"created_at": m.CreatedAt.UTC(), "updated_at": m.UpdatedAt.UTC(),
	}
	if m.TgUserID != nil {
		tg := map[string]any{"user_id": *m.TgUserID, "username": m.TgUsername, "linked_at": utcPtr(m.LinkedAt)}
		// The phone Telegram vouched for (Log in with Telegram).
		phone, at, err := s.store.VerifiedPhone(r.Context(), *m.TgUserID)
		if err != nil {
			return err
		}
		if phone != "" {
			tg["phone"], tg["phone_verified_at"] = phone, at.UTC()
		}
		member["telegram"] = tg
	}
	chats := make([]map[string]any, 0, len(x.Chats))
	for _, c := range x.Chats {
		chats = append(chats, map[string]any{"key": c.ChatKey, "state": c.State, "reason": c.Reason, "in_chat": c.InChat,
			"grace_until": utcPtr(c.GraceUntil), "tag": c.Tag, "changed_at": c.ChangedAt.UTC()})
	}
	overrides := make([]map[string]any, 0, len(x.Overrides))
	for _, o := range x.Overrides {
		overrides = append(overrides, map[string]any{"chat": o.ChatKey, "mode": o.Mode, "created_at": o.CreatedAt.UTC()})
	}
	links := make([]map[string]any, 0, len(x.Links))
	for _, l := range x.Links {
		links = append(links, map[string]any{"chat": l.ChatKey, "link": l.Link, "expires_at": l.ExpiresAt.UTC(), "created_at": l.CreatedAt.UTC()})
	}
	notices := make([]map[string]any, 0, len(x.Notifications))
	for _, n := range x.Notifications {
		notices = append(notices, map[string]any{"key": n.IdemKey, "telegram_user_id": n.TgUserID, "kind": n.Kind, "status": n.Status,
			"detail": n.Detail, "created_at": n.CreatedAt.UTC(), "done_at": utcPtr(n.DoneAt)})
	}
	actions := make([]map[string]any, 0, len(x.Actions))
	for _, a := range x.Actions {
		actions = append(actions, map[string]any{"id": a.ID, "kind": a.Kind, "chat": a.ChatKey, "status": a.Status, "reason": a.Reason,
			"telegram_user_id": a.TgUserID, "not_before": a.NotBefore.UTC(), "created_at": a.CreatedAt.UTC()})
	}
	tokens := make([]map[string]any, 0, len(x.Tokens))
	for _, t := range x.Tokens {
		tokens = append(tokens, map[string]any{"created_at": t.CreatedAt.UTC(), "expires_at": t.ExpiresAt.UTC(),
			"used_at": utcPtr(t.UsedAt), "used_by": t.UsedBy})
	}
	relinks := make([]map[string]any, 0, len(x.Relinks))
	for _, r := range x.Relinks {
		relinks = append(relinks, map[string]any{"member": r.MemberExt, "old_telegram_user_id": r.OldTgUserID, "new_telegram_user_id": r.NewTgUserID,
			"new_username": r.NewUsername, "new_name": r.NewName, "via": r.Via, "status": r.Status,
			"created_at": r.CreatedAt.UTC(), "expires_at": r.ExpiresAt.UTC(), "decided_at": utcPtr(r.DecidedAt)})
	}
	events := x.Events
	if events == nil {
		events = []models.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"member": member, "chats": chats, "overrides": overrides, "personal_links": links,
		"events": events, "events_truncated": x.EventsTruncated,
		"notifications": notices, "pending_actions": actions, "link_tokens": tokens, "relink_requests": relinks,
		"_links": map[string]any{"self": link(memberPath(id) + "/export"), "member": link(memberPath(id))},
	})
	return nil
}

// utcPtr is t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
