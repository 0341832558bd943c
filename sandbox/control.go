package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// The control API, under /sandbox/ on the Bot API's address. Bodies are
// JSON or x-www-form-urlencoded; answers are JSON; errors are
// {"error": "...", "rpc": "..."} with a 4xx status.

func (s *Sandbox) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sandbox/users", s.handleListUsers)
	mux.HandleFunc("POST /sandbox/users", s.handleCreateUser)
	mux.HandleFunc("GET /sandbox/users/{id}", s.handleGetUser)
	mux.HandleFunc("POST /sandbox/users/{id}/messages", s.handleSend)
	mux.HandleFunc("GET /sandbox/users/{id}/messages", s.handleReceived)
	mux.HandleFunc("POST /sandbox/users/{id}/contact", s.handleContact)
	mux.HandleFunc("POST /sandbox/users/{id}/join", s.handleJoin)
	mux.HandleFunc("POST /sandbox/users/{id}/leave", s.handleLeave)
	mux.HandleFunc("POST /sandbox/users/{id}/block", s.handleBlock)
	mux.HandleFunc("POST /sandbox/users/{id}/privacy", s.handlePrivacy)
	mux.HandleFunc("GET /sandbox/chats", s.handleListChats)
	mux.HandleFunc("POST /sandbox/chats", s.handleCreateChat)
	mux.HandleFunc("POST /sandbox/chats/{chat_id}/admins", s.handleMakeAdmin)
	mux.HandleFunc("GET /sandbox/chats/{chat_id}/members", s.handleMembers)
	mux.HandleFunc("GET /sandbox/chats/{chat_id}/links", s.handleLinks)
	mux.HandleFunc("GET /sandbox/chats/{chat_id}/requests", s.handleRequests)
	mux.HandleFunc("GET /sandbox/codes/{phone}", s.handleCode)
	mux.HandleFunc("GET /sandbox/calls", s.handleCalls)
	mux.HandleFunc("POST /sandbox/faults", s.handleFaults)
	mux.HandleFunc("GET /sandbox/faults", s.handleGetFaults)
	mux.HandleFunc("GET /sandbox/", s.handleIndex)
}

// body reads a JSON object or a form into strings (JSON non-strings keep
// their JSON text). A body that looks like JSON is read as JSON whatever
// its Content-Type, so `curl -d '{...}'` works.
func body(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, fmt.Errorf("read form: %w", err)
		}
		for k, v := range r.Form {
			if len(v) > 0 {
				out[k] = v[len(v)-1]
			}
		}
		return out, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	text := strings.TrimSpace(string(data))
	switch {
	case text == "":
		return out, nil
	case strings.HasPrefix(text, "{"):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("body is not a JSON object: %w", err)
		}
		for k, raw := range m {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				out[k] = str
			} else if string(raw) != "null" {
				out[k] = string(raw)
			}
		}
	default:
		form, err := url.ParseQuery(text)
		if err != nil {
			return nil, fmt.Errorf("read form: %w", err)
		}
		for k, v := range form {
			if len(v) > 0 {
				out[k] = v[len(v)-1]
			}
		}
	}
	return out, nil
}

type controlError struct {
	status int
	msg    string
}

func (e *controlError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &controlError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &controlError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func writeControlError(rw http.ResponseWriter, err error) {
	status, body := http.StatusInternalServerError, map[string]any{"error": err.Error()}
	var ce *controlError
	var we *world.Error
	switch {
	case errors.As(err, &ce):
		status = ce.status
	case errors.As(err, &we):
		status = we.Code
		body["error"] = we.Description
		body["rpc"] = we.RPC
		if we.RetryAfter > 0 {
			body["retry_after"] = we.RetryAfterSeconds()
		}
	}
	writeControlJSON(rw, status, body)
}

func writeControlJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// userJSON is a user as the control API shows it.
type userJSON struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Privacy   string `json:"privacy"`
	IsBot     bool   `json:"is_bot"`
	Has2FA    bool   `json:"has_2fa"`
}

func toUserJSON(u world.User) userJSON {
	phone := ""
	if u.Phone != "" {
		phone = "+" + u.Phone
	}
	return userJSON{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, Phone: phone, Privacy: string(u.Privacy), IsBot: u.IsBot, Has2FA: u.Password != ""}
}

type messageJSON struct {
	MessageID   int             `json:"message_id"`
	From        int64           `json:"from"`
	ChatID      int64           `json:"chat_id"`
	Date        time.Time       `json:"date"`
	Text        string          `json:"text,omitempty"`
	Entities    []world.Entity  `json:"entities,omitempty"`
	Contact     *world.Contact  `json:"contact,omitempty"`
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
}

// toMessageJSON shows m as viewer sees it (chat_id is the other side).
func toMessageJSON(m world.Message, viewer int64) messageJSON {
	out := messageJSON{MessageID: m.ID, From: m.FromID, ChatID: m.ChatIDFor(viewer), Date: m.Date, Text: m.Text, Entities: m.Entities, Contact: m.Contact}
	if m.ReplyMarkup != "" && json.Valid([]byte(m.ReplyMarkup)) {
		out.ReplyMarkup = json.RawMessage(m.ReplyMarkup)
	}
	return out
}

type chatJSON struct {
	ID           int64     `json:"id"`
	ChannelID    int64     `json:"channel_id"`
	Title        string    `json:"title"`
	About        string    `json:"about,omitempty"`
	Creator      int64     `json:"creator"`
	MembersCount int       `json:"members_count"`
	Date         time.Time `json:"date"`
}

func toChatJSON(c world.Chat) chatJSON {
	return chatJSON{ID: c.BotAPIID(), ChannelID: c.ID, Title: c.Title, About: c.About, Creator: c.CreatorID, MembersCount: c.MembersCount, Date: c.Date}
}

type memberJSON struct {
	User           userJSON           `json:"user"`
	Status         string             `json:"status"`
	Rights         *world.AdminRights `json:"rights,omitempty"`
	CustomTitle    string             `json:"custom_title,omitempty"`
	UntilDate      *time.Time         `json:"until_date,omitempty"`
	JoinedAt       time.Time          `json:"joined_at"`
	InviterID      int64              `json:"inviter_id,omitempty"`
	InviteLink     string             `json:"invite_link,omitempty"`
	ViaJoinRequest bool               `json:"via_join_request,omitempty"`
}

func toMemberJSON(m world.ChatMember) memberJSON {
	out := memberJSON{User: toUserJSON(m.User), Status: string(m.Status), CustomTitle: m.CustomTitle, JoinedAt: m.JoinedAt, InviterID: m.InviterID, ViaJoinRequest: m.ViaJoinRequest}
	if m.Status == world.StatusAdministrator || m.Status == world.StatusCreator {
		r := m.Rights
		out.Rights = &r
	}
	if !m.UntilDate.IsZero() {
		t := m.UntilDate
		out.UntilDate = &t
	}
	if m.InviteLink != "" {
		out.InviteLink = "https://t.me/+" + m.InviteLink
	}
	return out
}

func (s *Sandbox) pathUser(r *http.Request) (world.User, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return world.User{}, badInput("user id %q is not a number", r.PathValue("id"))
	}
	u, ok := s.world.User(id)
	if !ok {
		return world.User{}, notFound("no user %d", id)
	}
	return u, nil
}

func (s *Sandbox) pathChat(r *http.Request) (world.Chat, error) {
	id, err := strconv.ParseInt(r.PathValue("chat_id"), 10, 64)
	if err != nil {
		return world.Chat{}, badInput("chat id %q is not a number", r.PathValue("chat_id"))
	}
	c, ok := s.world.ChatByBotAPIID(id)
	if !ok {
		if c, ok = s.world.Chat(id); !ok {
			return world.Chat{}, notFound("no supergroup %d (use the Bot API id, -100…)", id)
		}
	}
	return c, nil
}

func (s *Sandbox) handleIndex(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sandbox/" {
		writeControlError(rw, notFound("no such control call: %s %s", r.Method, r.URL.Path))
		return
	}
	writeControlJSON(rw, http.StatusOK, map[string]any{
		"bot":          toUserJSON(s.bot),
		"bot_api_url":  s.BotAPIURL(),
		"mtproto_addr": s.MTProtoAddr(),
		"seed":         s.cfg.Seed,
	})
}

func (s *Sandbox) handleListUsers(rw http.ResponseWriter, r *http.Request) {
	out := []userJSON{}
	for _, u := range s.world.Users() {
		out = append(out, toUserJSON(u))
	}
	writeControlJSON(rw, http.StatusOK, out)
}

func (s *Sandbox) handleCreateUser(rw http.ResponseWriter, r *http.Request) {
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	privacy, err := world.ParsePrivacy(in["privacy"])
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	u, err := s.world.CreateUser(world.UserSpec{
		FirstName: in["first_name"], LastName: in["last_name"], Username: strings.TrimPrefix(in["username"], "@"),
		Phone: in["phone"], Privacy: privacy, Password: in["password"], LanguageCode: in["language_code"],
	})
	if err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusCreated, toUserJSON(u))
}

func (s *Sandbox) handleGetUser(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusOK, toUserJSON(u))
}

func (s *Sandbox) handleSend(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	var chatID int64
	if v := in["chat_id"]; v != "" {
		if chatID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeControlError(rw, badInput("chat_id %q is not a number", v))
			return
		}
	}
	m, err := s.SendMessage(u.ID, chatID, in["text"])
	if err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusOK, toMessageJSON(m, u.ID))
}

func (s *Sandbox) handleReceived(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	out := []messageJSON{}
	for _, m := range s.Received(u.ID) {
		out = append(out, toMessageJSON(m, u.ID))
	}
	writeControlJSON(rw, http.StatusOK, out)
}

func (s *Sandbox) handleContact(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	m, err := s.ShareContact(u.ID)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusOK, toMessageJSON(m, u.ID))
}

func (s *Sandbox) handleJoin(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	link := in["invite_link"]
	if link == "" {
		writeControlError(rw, badInput("invite_link is required"))
		return
	}
	res, err := s.Join(u.ID, link)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	out := map[string]any{"result": res.Result}
	if res.Reason != "" {
		out["reason"] = res.Reason
	}
	if res.ChannelID != 0 {
		out["chat_id"] = world.BotAPIChatID(res.ChannelID)
	}
	writeControlJSON(rw, http.StatusOK, out)
}

func (s *Sandbox) handleLeave(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	chatID, err := strconv.ParseInt(in["chat_id"], 10, 64)
	if err != nil {
		writeControlError(rw, badInput("chat_id %q is not a number", in["chat_id"]))
		return
	}
	if err := s.Leave(u.ID, chatID); err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusOK, map[string]any{"ok": true})
}

// handleBlock: the person blocks the bot ({"blocked": false} unblocks).
func (s *Sandbox) handleBlock(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	blocked := in["blocked"] != "false" && in["blocked"] != "0"
	if err := s.BlockBot(u.ID, blocked); err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusOK, map[string]any{"blocked": blocked})
}

// handlePrivacy changes who may add the person to groups.
func (s *Sandbox) handlePrivacy(rw http.ResponseWriter, r *http.Request) {
	u, err := s.pathUser(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	p, err := world.ParsePrivacy(in["privacy"])
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	if err := s.world.SetPrivacy(u.ID, p); err != nil {
		writeControlError(rw, err)
		return
	}
	u, _ = s.world.User(u.ID)
	writeControlJSON(rw, http.StatusOK, toUserJSON(u))
}

func (s *Sandbox) handleListChats(rw http.ResponseWriter, r *http.Request) {
	out := []chatJSON{}
	for _, c := range s.world.Chats() {
		out = append(out, toChatJSON(c))
	}
	writeControlJSON(rw, http.StatusOK, out)
}

func (s *Sandbox) handleCreateChat(rw http.ResponseWriter, r *http.Request) {
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	creator, err := strconv.ParseInt(in["creator"], 10, 64)
	if err != nil {
		writeControlError(rw, badInput("creator (a user id) is required"))
		return
	}
	c, err := s.CreateChat(creator, in["title"], in["about"])
	if err != nil {
		writeControlError(rw, err)
		return
	}
	writeControlJSON(rw, http.StatusCreated, toChatJSON(c))
}

func (s *Sandbox) handleMakeAdmin(rw http.ResponseWriter, r *http.Request) {
	c, err := s.pathChat(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	var userID int64
	if v := in["user_id"]; v != "" && v != "bot" {
		if userID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeControlError(rw, badInput("user_id %q is not a number", v))
			return
		}
	}
	var rights *world.AdminRights
	if v, ok := in["rights"]; ok {
		var rr world.AdminRights
		if err := json.Unmarshal([]byte(v), &rr); err != nil {
			writeControlError(rw, badInput("rights: %v", err))
			return
		}
		rights = &rr
	}
	if err := s.MakeAdmin(c.BotAPIID(), userID, rights); err != nil {
		writeControlError(rw, err)
		return
	}
	if userID == 0 {
		userID = s.bot.ID
	}
	writeControlJSON(rw, http.StatusOK, toMemberJSON(s.world.Member(c.ID, userID)))
}

func (s *Sandbox) handleMembers(rw http.ResponseWriter, r *http.Request) {
	c, err := s.pathChat(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	out := []memberJSON{}
	for _, m := range s.world.Members(c.ID) {
		out = append(out, toMemberJSON(m))
	}
	if r.URL.Query().Get("banned") != "" {
		for _, m := range s.world.Banned(c.ID) {
			out = append(out, toMemberJSON(m))
		}
	}
	writeControlJSON(rw, http.StatusOK, out)
}

type linkJSON struct {
	Link                string     `json:"invite_link"`
	Creator             int64      `json:"creator"`
	Name                string     `json:"name,omitempty"`
	ExpireDate          *time.Time `json:"expire_date,omitempty"`
	MemberLimit         int        `json:"member_limit,omitempty"`
	CreatesJoinRequest  bool       `json:"creates_join_request"`
	IsPrimary           bool       `json:"is_primary"`
	IsRevoked           bool       `json:"is_revoked"`
	Members             int        `json:"members"`
	PendingJoinRequests int        `json:"pending_join_requests"`
}

// handleLinks lists a chat's invite links, unmasked.
func (s *Sandbox) handleLinks(rw http.ResponseWriter, r *http.Request) {
	c, err := s.pathChat(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	out := []linkJSON{}
	for _, l := range s.world.InviteLinks(c.ID) {
		j := linkJSON{Link: l.Link, Creator: l.CreatorID, Name: l.Name, MemberLimit: l.MemberLimit, CreatesJoinRequest: l.CreatesJoinRequest,
			IsPrimary: l.IsPrimary, IsRevoked: l.IsRevoked, Members: l.Members, PendingJoinRequests: l.PendingJoinRequests}
		if !l.ExpireDate.IsZero() {
			t := l.ExpireDate
			j.ExpireDate = &t
		}
		out = append(out, j)
	}
	writeControlJSON(rw, http.StatusOK, out)
}

// handleRequests lists a chat's pending join requests.
func (s *Sandbox) handleRequests(rw http.ResponseWriter, r *http.Request) {
	c, err := s.pathChat(r)
	if err != nil {
		writeControlError(rw, err)
		return
	}
	type requestJSON struct {
		User       userJSON  `json:"user"`
		InviteLink string    `json:"invite_link"`
		Date       time.Time `json:"date"`
	}
	out := []requestJSON{}
	for _, jr := range s.world.JoinRequests(c.ID) {
		u, _ := s.world.User(jr.UserID)
		out = append(out, requestJSON{User: toUserJSON(u), InviteLink: "https://t.me/+" + jr.InviteLink, Date: jr.Date})
	}
	writeControlJSON(rw, http.StatusOK, out)
}

func (s *Sandbox) handleCode(rw http.ResponseWriter, r *http.Request) {
	phone := r.PathValue("phone")
	code, ok := s.Code(phone)
	if !ok {
		writeControlError(rw, notFound("no code was sent to %s", phone))
		return
	}
	writeControlJSON(rw, http.StatusOK, map[string]string{"phone": phone, "code": code})
}

// handleCalls lists calls; ?api=bot|mtproto and ?method= filter, ?since=N
// skips the first N.
func (s *Sandbox) handleCalls(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, _ := strconv.Atoi(q.Get("since"))
	out := []world.Call{}
	for i, c := range s.Calls() {
		if i < since || (q.Get("api") != "" && c.API != q.Get("api")) || (q.Get("method") != "" && c.Method != q.Get("method")) {
			continue
		}
		out = append(out, c)
	}
	writeControlJSON(rw, http.StatusOK, out)
}

func (s *Sandbox) handleFaults(rw http.ResponseWriter, r *http.Request) {
	in, err := body(r)
	if err != nil {
		writeControlError(rw, badInput("%v", err))
		return
	}
	var f world.Faults
	if v := in["rate"]; v != "" {
		if f.Rate, err = strconv.ParseFloat(v, 64); err != nil || f.Rate < 0 || f.Rate > 1 {
			writeControlError(rw, badInput("rate must be a number from 0 to 1"))
			return
		}
	}
	if v := in["seed"]; v != "" {
		if f.Seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeControlError(rw, badInput("seed must be an integer"))
			return
		}
	}
	if v := in["kinds"]; v != "" {
		if strings.HasPrefix(strings.TrimSpace(v), "[") {
			if err := json.Unmarshal([]byte(v), &f.Kinds); err != nil {
				writeControlError(rw, badInput("kinds: %v", err))
				return
			}
		} else {
			f.Kinds = strings.Split(v, ",")
		}
		for i, k := range f.Kinds {
			k = strings.TrimSpace(k)
			f.Kinds[i] = k
			switch k {
			case world.FaultServerError, world.FaultTimeout, world.FaultDrop, world.FaultTooMany, world.FaultDuplicate:
			default:
				writeControlError(rw, badInput("unknown fault kind %q: want 5xx, timeout, drop, 429 or duplicate", k))
				return
			}
		}
	}
	s.SetFaults(f)
	writeControlJSON(rw, http.StatusOK, s.world.FaultConfig())
}

func (s *Sandbox) handleGetFaults(rw http.ResponseWriter, r *http.Request) {
	writeControlJSON(rw, http.StatusOK, s.world.FaultConfig())
}
