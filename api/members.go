package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// memberJSON is a member as the API shows it.
type memberJSON struct {
	ID        string           `json:"id"`
	Karma     int64            `json:"karma"`
	Groups    []string         `json:"groups"`
	Name      *string          `json:"name"`
	Phone     *string          `json:"phone"`
	Username  *string          `json:"username"`
	Telegram  *telegramJSON    `json:"telegram"`
	Chats     []memberChatJSON `json:"chats"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	Links     map[string]any   `json:"_links"`
}

type telegramJSON struct {
	UserID   int64     `json:"user_id"`
	Username *string   `json:"username"`
	LinkedAt time.Time `json:"linked_at"`
	// Phone is the account's phone as Telegram vouched for it (Log in
	// with Telegram, phone scope); absent when unknown.
	Phone           *string    `json:"phone,omitempty"`
	PhoneVerifiedAt *time.Time `json:"phone_verified_at,omitempty"`
}

type memberChatJSON struct {
	Key        string     `json:"key"`
	Title      string     `json:"title"`
	State      string     `json:"state"`
	Reason     string     `json:"reason"`
	InChat     bool       `json:"in_chat"`
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	JoinURL    string     `json:"join_url,omitempty"`
}

func memberPath(id string) string { return "/api/v1/members/" + url.PathEscape(id) }

// joinLinks returns each bound chat's join link, by chat key.
func (s *Server) joinLinks(ctx context.Context) (map[string]string, error) {
	rows, err := s.store.ChatRows(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rows {
		if r.TgChatID != nil && r.JoinLink != nil {
			out[r.ChatKey] = *r.JoinLink
		}
	}
	return out, nil
}

// render renders a member with the join links of the chats they may enter:
// their personal link where the chat gives them one, else the chat's
// join-request link.
func (s *Server) render(ctx context.Context, v *models.MemberView) (memberJSON, error) {
	if v.JoinLinks != nil {
		return s.renderMember(v, v.JoinLinks), nil
	}
	links, err := s.joinLinks(ctx)
	if err != nil {
		return memberJSON{}, err
	}
	own, err := s.store.MemberLinks(ctx, v.Member.ID)
	if err != nil {
		return memberJSON{}, err
	}
	for chat, l := range own {
		if _, bound := links[chat]; bound {
			links[chat] = l.Link
		}
	}
	out := s.renderMember(v, links)
	if out.Telegram != nil {
		// The phone Telegram vouched for (Log in with Telegram's phone
		// scope).
		phone, at, err := s.store.VerifiedPhone(ctx, out.Telegram.UserID)
		if err != nil {
			return memberJSON{}, err
		}
		if phone != "" {
			at = at.UTC()
			out.Telegram.Phone, out.Telegram.PhoneVerifiedAt = &phone, &at
		}
	}
	return out, nil
}

// renderMember renders a member; join_url is set for each chat the member
// may enter and is not in yet (eligible and linked, invited, or exempt).
func (s *Server) renderMember(v *models.MemberView, links map[string]string) memberJSON {
	m := v.Member
	out := memberJSON{
		ID: m.ExternalID, Karma: m.Karma, Groups: m.Groups(), Name: m.Name, Phone: m.Phone, Username: m.Username,
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
		Chats: make([]memberChatJSON, 0, len(v.Chats)),
	}
	if m.TgUserID != nil {
		t := telegramJSON{UserID: *m.TgUserID, Username: m.TgUsername}
		if m.LinkedAt != nil {
			t.LinkedAt = m.LinkedAt.UTC()
		}
		out.Telegram = &t
	}
	rules := s.store.Rules()
	for _, c := range v.Chats {
		title := c.ChatKey
		if rc, ok := rules.Chat(c.ChatKey); ok {
			title = rc.Title
		}
		mc := memberChatJSON{Key: c.ChatKey, Title: title, State: c.State, Reason: c.Reason, InChat: c.InChat}
		switch gate.State(c.State) {
		case gate.StateEligible, gate.StateInvited, gate.StateExempt:
			if !c.InChat && m.TgUserID != nil {
				mc.JoinURL = links[c.ChatKey]
			}
		}
		if c.GraceUntil != nil {
			g := c.GraceUntil.UTC()
			mc.GraceUntil = &g
		}
		out.Chats = append(out.Chats, mc)
	}
	self := memberPath(m.ExternalID)
	out.Links = map[string]any{
		"self":   link(self),
		"karma":  link(self + "/karma"),
		"link":   link(self + "/link"),
		"export": link(self + "/export"),
		"events": link("/api/v1/events?member=" + url.QueryEscape(m.ExternalID)),
		"chats":  link("/api/v1/chats"),
	}
	return out
}

// ActorHeader lets the website say which of its users made a change (an
// admin's name, a cron job); the audit trail records it as "api:<value>".
const ActorHeader = "X-Karmagate-Actor"

var actorPattern = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)

// actor names who made a change, for the audit trail: "api", or
// "api:<who>" when the website names them in ActorHeader. A header that
// breaks its rule is refused rather than recorded as "api".
func actor(r *http.Request) (string, error) {
	vals := r.Header.Values(ActorHeader)
	switch {
	case len(vals) == 0:
		return "api", nil
	case len(vals) == 1 && actorPattern.MatchString(vals[0]):
		return "api:" + vals[0], nil
	}
	p := problem(http.StatusBadRequest, "invalid-header", fmt.Sprintf("%s %q is not one value of 1-64 characters of A-Z a-z 0-9 . _ @ : -",
		ActorHeader, truncate(strings.Join(vals, ", "), 80)))
	p.Field = ActorHeader
	return "", p
}

// badID refuses a malformed member id in the URL: in the path or a query
// parameter (field names which).
func badID(field string, err error) error {
	detail := err.Error()
	var ie *models.InputError
	if errors.As(err, &ie) {
		detail = ie.Detail
	}
	p := problem(http.StatusBadRequest, "invalid-id", field+": "+detail)
	p.Field = field
	return p
}

func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if err := models.CheckID(id); err != nil {
		return "", badID("id", err)
	}
	return id, nil
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.store.FindMember(r.Context(), id)
	if err != nil {
		return err
	}
	out, err := s.render(r.Context(), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// decodeMember reads a member from a JSON or form body and normalizes it.
func (s *Server) decodeMember(w http.ResponseWriter, r *http.Request, id string) (models.MemberInput, error) {
	in := models.MemberInput{ID: id}
	kind, body, err := readBody(w, r, bodyJSON, bodyForm)
	if err != nil {
		return in, err
	}
	if kind == bodyJSON {
		fs, err := jsonObjectFields(body)
		if err != nil {
			return in, err
		}
		if err := memberFromJSON(fs, &in); err != nil {
			return in, err
		}
	} else if err := memberFromForm(r.PostForm, &in); err != nil {
		return in, err
	}
	return in, in.Normalize(s.store.Rules())
}

func (s *Server) putMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	who, err := actor(r)
	if err != nil {
		return err
	}
	in, err := s.decodeMember(w, r, id)
	if err != nil {
		return err
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	res, err := s.group.PutMember(ctx, in, who)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created > 0 {
		status = http.StatusCreated
		w.Header().Set("Location", memberPath(id))
	}
	out, err := s.render(r.Context(), res.View)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	s.written(w)
	return nil
}

// written is called after a write's answer: it sends the answer at once
// and calls the AfterWrite hook, if any.
func (s *Server) written(w http.ResponseWriter) {
	if s.afterWrite == nil {
		return
	}
	if err := http.NewResponseController(w).Flush(); err != nil {
		s.log.Warn("flush an answer", "err", err)
	}
	s.afterWrite()
}

// onlyFields refuses the fields of a JSON object or form that are not in
// known (hint says what the route takes), and returns the JSON fields by
// name.
func onlyFields(fs []jsonField, form url.Values, hint string, known ...string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(fs))
	for _, f := range fs {
		if !slices.Contains(known, string(f.name)) {
			return nil, unknownField(string(f.name), hint)
		}
		out[string(f.name)] = f.val
	}
	for _, k := range slices.Sorted(maps.Keys(form)) {
		if !slices.Contains(known, k) {
			return nil, unknownField(k, hint)
		}
	}
	return out, nil
}

// oneFormValue reads a form field that must be given once.
func oneFormValue(form url.Values, field, hint string) (string, error) {
	switch vals := form[field]; len(vals) {
	case 0:
		return "", &models.InputError{Field: field, Detail: field + " is required: " + hint}
	case 1:
		return vals[0], nil
	}
	return "", &models.InputError{Field: field, Detail: "give " + field + " once: " + hint}
}

func (s *Server) addKarma(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	who, err := actor(r)
	if err != nil {
		return err
	}
	kind, body, err := readBody(w, r, bodyJSON, bodyForm)
	if err != nil {
		return err
	}
	var delta int64
	if kind == bodyJSON {
		const hint = `send exactly {"delta": <integer>}`
		fs, err := jsonObjectFields(body)
		if err != nil {
			return err
		}
		got, err := onlyFields(fs, nil, hint, "delta")
		if err != nil {
			return err
		}
		raw, ok := got["delta"]
		if !ok {
			return &models.InputError{Field: "delta", Detail: "delta is required: " + hint}
		}
		if delta, err = jsonInt(raw, "delta"); err != nil {
			return err
		}
	} else {
		const hint = "send exactly one delta field, e.g. delta=-2"
		if _, err := onlyFields(nil, r.PostForm, hint, "delta"); err != nil {
			return err
		}
		v, err := oneFormValue(r.PostForm, "delta", hint)
		if err != nil {
			return err
		}
		if delta, err = parseInt(v, "delta"); err != nil {
			return err
		}
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	v, err := s.group.AddKarma(ctx, id, delta, who)
	if err != nil {
		return err
	}
	out, err := s.render(r.Context(), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	s.written(w)
	return nil
}

// linkHint says what a link body holds.
const linkHint = `send no body, or {"replace": true} for a link that moves the member without asking the Telegram account linked now (form: replace=true)`

// link is POST /api/v1/members/{id}/link: a fresh deep link. Its use by
// another Telegram account than the member's asks that account first;
// with {"replace": true} it moves the member at once (the old account is
// told).
func (s *Server) link(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	replace := false
	if r.ContentLength != 0 {
		kind, body, err := readBody(w, r, bodyJSON, bodyForm)
		if err != nil {
			return err
		}
		if replace, err = linkReplace(kind, body, r.PostForm); err != nil {
			return err
		}
	}
	if s.linker == nil {
		return problem(http.StatusServiceUnavailable, "bot-not-running",
			"linking is not available: deep links come from the Telegram bot, which is not running in this instance")
	}
	if _, err := s.store.FindMember(r.Context(), id); err != nil {
		return err
	}
	issue := s.linker.LinkURL
	if replace {
		issue = s.linker.ReplaceLinkURL
	}
	u, exp, err := issue(r.Context(), id)
	if err != nil {
		return err
	}
	out := map[string]any{"url": u, "expires_at": exp.UTC(), "_links": map[string]any{"member": link(memberPath(id))}}
	if replace {
		out["replace"] = true
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// linkReplace reads the link call's one optional field, replace: a JSON
// true or false, or the form value true or false.
func linkReplace(kind bodyKind, body []byte, form url.Values) (bool, error) {
	var raw string
	if kind == bodyJSON {
		fs, err := jsonObjectFields(body)
		if err != nil {
			return false, err
		}
		got, err := onlyFields(fs, nil, linkHint, "replace")
		if err != nil {
			return false, err
		}
		v, ok := got["replace"]
		if !ok {
			return false, nil
		}
		raw = string(v)
	} else {
		if _, err := onlyFields(nil, form, linkHint, "replace"); err != nil {
			return false, err
		}
		if _, ok := form["replace"]; !ok {
			return false, nil
		}
		v, err := oneFormValue(form, "replace", linkHint)
		if err != nil {
			return false, err
		}
		raw = v
	}
	switch raw {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &models.InputError{Field: "replace", Detail: "replace must be true or false: " + linkHint}
}

// overrideHint says what an override body holds.
const overrideHint = `send {"mode": "always" | "never" | "none"} (none lifts the override), or the form field mode`

func (s *Server) setOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	chat := r.PathValue("chat")
	if _, ok := s.store.Rules().Chat(chat); !ok {
		return problem(http.StatusNotFound, "not-found", "no gated chat "+truncate(chat, 64)+" in the rules")
	}
	who, err := actor(r)
	if err != nil {
		return err
	}
	kind, body, err := readBody(w, r, bodyJSON, bodyForm)
	if err != nil {
		return err
	}
	var mode string
	if kind == bodyJSON {
		fs, err := jsonObjectFields(body)
		if err != nil {
			return err
		}
		got, err := onlyFields(fs, nil, overrideHint, "mode")
		if err != nil {
			return err
		}
		raw, ok := got["mode"]
		if !ok || jsonIsNull(raw) {
			return &models.InputError{Field: "mode", Detail: "mode is required: " + overrideHint}
		}
		if mode, ok = jsonText(raw); !ok {
			return &models.InputError{Field: "mode", Detail: "must be a string: " + overrideHint}
		}
	} else {
		if _, err := onlyFields(nil, r.PostForm, overrideHint, "mode"); err != nil {
			return err
		}
		if mode, err = oneFormValue(r.PostForm, "mode", overrideHint); err != nil {
			return err
		}
	}
	if strings.TrimSpace(mode) == "" {
		return &models.InputError{Field: "mode", Detail: "mode is empty: " + overrideHint}
	}
	ov, err := gate.ParseOverride(mode)
	if err != nil {
		return &models.InputError{Field: "mode", Detail: err.Error()}
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	v, err := s.store.SetOverride(ctx, id, chat, ov, who)
	if err != nil {
		return err
	}
	out, err := s.render(r.Context(), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
