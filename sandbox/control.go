package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/world"
)

// The control API, under /sandbox/ on the Bot API's address. Bodies are
// JSON or x-www-form-urlencoded; answers are JSON; errors are
// {"error": "...", "rpc": "..."} with a 4xx status.

// controlFunc is a control call: given the request and its fields (checked
// against the route's), it returns the status and the value to answer with
// as JSON, or an error for writeControlError.
type controlFunc func(r *http.Request, in map[string]string) (status int, v any, err error)

// serveControl adapts h to net/http: the one place that reads fields and
// writes answers. A field the route does not take is a 400.
func serveControl(pattern string, h controlFunc, fields []string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		in, err := readFields(r, pattern, fields)
		if err != nil {
			writeControlError(rw, err)
			return
		}
		status, v, err := h(r, in)
		if err != nil {
			writeControlError(rw, err)
			return
		}
		writeControlJSON(rw, status, v)
	}
}

// answer (200) and fail are a controlFunc's usual ways out.
func answer(v any) (int, any, error) { return http.StatusOK, v, nil }

func fail(err error) (int, any, error) { return 0, nil, err }

// readFields reads a GET's query string, or another method's body, into
// strings and refuses any field not in fields, naming the ones the call
// takes. A POST's fields travel in its body only, so a query string there is
// refused too.
func readFields(r *http.Request, pattern string, fields []string) (map[string]string, error) {
	var in map[string]string
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		in = lastValues(r.URL.Query())
	} else {
		if q := r.URL.Query(); len(q) > 0 {
			return nil, badInput("%s takes its fields in the body, not the query string (%s)", pattern, strings.Join(slices.Sorted(maps.Keys(q)), ", "))
		}
		var err error
		if in, err = readBody(r); err != nil {
			return nil, badInput("%v", err)
		}
	}
	var unknown []string
	for k := range in {
		if !slices.Contains(fields, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) == 0 {
		return in, nil
	}
	slices.Sort(unknown)
	takes := "no fields"
	if len(fields) > 0 {
		takes = strings.Join(fields, ", ")
	}
	what := "field"
	if len(unknown) > 1 {
		what = "fields"
	}
	return nil, badInput("unknown %s %s: %s takes %s", what, strings.Join(unknown, ", "), pattern, takes)
}

// readBody reads a JSON object or a form into strings (JSON non-strings keep
// their JSON text). A body that looks like JSON is read as JSON whatever
// its Content-Type, so `curl -d '{...}'` works.
func readBody(r *http.Request) (map[string]string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, fmt.Errorf("read form: %w", err)
		}
		return lastValues(r.MultipartForm.Value), nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	text := strings.TrimSpace(string(data))
	switch {
	case text == "":
		return map[string]string{}, nil
	case strings.HasPrefix(text, "{"):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("body is not a JSON object: %w", err)
		}
		out := map[string]string{}
		for k, raw := range m {
			var str string
			switch {
			case json.Unmarshal(raw, &str) == nil:
				out[k] = str
			case string(raw) == "null":
				out[k] = "" // named, so checked, but empty
			default:
				out[k] = string(raw)
			}
		}
		return out, nil
	default:
		form, err := url.ParseQuery(text)
		if err != nil {
			return nil, fmt.Errorf("read form: %w", err)
		}
		return lastValues(form), nil
	}
}

// lastValues keeps the last value of each field.
func lastValues(form map[string][]string) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if len(v) > 0 {
			out[k] = v[len(v)-1]
		}
	}
	return out
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
	ID         int64  `json:"id"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name,omitempty"`
	Username   string `json:"username,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Privacy    string `json:"privacy"`
	IsBot      bool   `json:"is_bot"`
	Has2FA     bool   `json:"has_2fa"`
	DC         int    `json:"dc,omitempty"`
	Restricted bool   `json:"restricted,omitempty"`
	Banned     bool   `json:"banned,omitempty"`
}

func toUserJSON(u world.User) userJSON {
	phone := ""
	if u.Phone != "" {
		phone = "+" + u.Phone
	}
	return userJSON{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, Phone: phone, Privacy: string(u.Privacy), IsBot: u.IsBot, Has2FA: u.Password != "",
		DC: u.DC, Restricted: u.Restricted, Banned: u.Banned}
}

type messageJSON struct {
	MessageID   int               `json:"message_id"`
	From        int64             `json:"from"`
	ChatID      int64             `json:"chat_id"`
	Date        time.Time         `json:"date"`
	Text        string            `json:"text,omitempty"`
	Entities    []world.Entity    `json:"entities,omitempty"`
	Contact     *world.Contact    `json:"contact,omitempty"`
	ReplyMarkup json.RawMessage   `json:"reply_markup,omitempty"`
	ChatShared  *world.ChatShared `json:"chat_shared,omitempty"`
	EditDate    *time.Time        `json:"edit_date,omitempty"`
	// An ephemeral message (Bot API 10.2): seen by this person alone;
	// message_id is its ephemeral_message_id.
	Ephemeral  bool  `json:"ephemeral,omitempty"`
	ReceiverID int64 `json:"receiver_user_id,omitempty"`
}

// toMessageJSON shows m as viewer sees it (chat_id is the other side).
func toMessageJSON(m world.Message, viewer int64) messageJSON {
	out := messageJSON{MessageID: m.ID, From: m.FromID, ChatID: m.ChatIDFor(viewer), Date: m.Date, Text: m.Text, Entities: m.Entities, Contact: m.Contact}
	if m.ReplyMarkup != "" && json.Valid([]byte(m.ReplyMarkup)) {
		out.ReplyMarkup = json.RawMessage(m.ReplyMarkup)
	}
	out.ChatShared = m.ChatShared
	out.Ephemeral, out.ReceiverID = m.ReceiverID != 0, m.ReceiverID
	if !m.EditDate.IsZero() {
		t := m.EditDate
		out.EditDate = &t
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
	// Type is "supergroup", or "group" for a basic group.
	Type string `json:"type"`
}

func toChatJSON(c world.Chat) chatJSON {
	typ := "supergroup"
	if c.Basic {
		typ = "group"
	}
	return chatJSON{ID: c.BotAPIID(), ChannelID: c.ID, Title: c.Title, About: c.About, Creator: c.CreatorID, MembersCount: c.MembersCount, Date: c.Date, Type: typ}
}

type memberJSON struct {
	User           userJSON           `json:"user"`
	Status         string             `json:"status"`
	Rights         *world.AdminRights `json:"rights,omitempty"`
	CustomTitle    string             `json:"custom_title,omitempty"`
	Tag            string             `json:"tag,omitempty"`
	UntilDate      *time.Time         `json:"until_date,omitempty"`
	JoinedAt       time.Time          `json:"joined_at"`
	InviterID      int64              `json:"inviter_id,omitempty"`
	InviteLink     string             `json:"invite_link,omitempty"`
	ViaJoinRequest bool               `json:"via_join_request,omitempty"`
}

func toMemberJSON(m world.ChatMember) memberJSON {
	out := memberJSON{User: toUserJSON(m.User), Status: string(m.Status), CustomTitle: m.CustomTitle, Tag: m.Tag, JoinedAt: m.JoinedAt, InviterID: m.InviterID, ViaJoinRequest: m.ViaJoinRequest}
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

// parseID reads v as an id; what names it in the error.
func parseID(what, v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badInput("%s %q is not a number", what, v)
	}
	return id, nil
}

func (s *Sandbox) pathUser(r *http.Request) (world.User, error) {
	id, err := parseID("user id", r.PathValue("id"))
	if err != nil {
		return world.User{}, err
	}
	u, ok := s.world.User(id)
	if !ok {
		return world.User{}, notFound("no user %d", id)
	}
	return u, nil
}

func (s *Sandbox) pathChat(r *http.Request) (world.Chat, error) {
	id, err := parseID("chat id", r.PathValue("chat_id"))
	if err != nil {
		return world.Chat{}, err
	}
	c, ok := s.world.ChatByBotAPIID(id)
	if !ok {
		if c, ok = s.world.Chat(id); !ok {
			return world.Chat{}, notFound("no supergroup %d (use the Bot API id, -100…)", id)
		}
	}
	return c, nil
}

func (s *Sandbox) handleIndex(_ *http.Request, _ map[string]string) (int, any, error) {
	return answer(map[string]any{
		"bot":          toUserJSON(s.bot),
		"bot_api_url":  s.BotAPIURL(),
		"mtproto_addr": s.MTProtoAddr(),
		"seed":         s.cfg.Seed,
	})
}

func (s *Sandbox) handleListUsers(_ *http.Request, _ map[string]string) (int, any, error) {
	out := []userJSON{}
	for _, u := range s.world.Users() {
		out = append(out, toUserJSON(u))
	}
	return answer(out)
}

func (s *Sandbox) handleCreateUser(_ *http.Request, in map[string]string) (int, any, error) {
	privacy, err := world.ParsePrivacy(in["privacy"])
	if err != nil {
		return fail(badInput("%v", err))
	}
	dc := 0
	if in["dc"] != "" {
		n, err := strconv.Atoi(in["dc"])
		if err != nil {
			return fail(badInput("dc %q: want a data center number, 1 to %d", in["dc"], world.MaxDC))
		}
		dc = n
	}
	u, err := s.world.CreateUser(world.UserSpec{
		FirstName: in["first_name"], LastName: in["last_name"], Username: strings.TrimPrefix(in["username"], "@"),
		Phone: in["phone"], Privacy: privacy, Password: in["password"], LanguageCode: in["language_code"], DC: dc,
	})
	if err != nil {
		return fail(err)
	}
	return http.StatusCreated, toUserJSON(u), nil
}

func (s *Sandbox) handleGetUser(r *http.Request, _ map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	return answer(toUserJSON(u))
}

// handleDeleteUser deletes a person (or another bot) from the world.
func (s *Sandbox) handleDeleteUser(r *http.Request, _ map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	if err := s.DeleteUser(u.ID); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"deleted": u.ID})
}

func (s *Sandbox) handleSend(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	var chatID int64
	if v := in["chat_id"]; v != "" {
		if chatID, err = parseID("chat_id", v); err != nil {
			return fail(err)
		}
	}
	anonymous, err := boolField(in, "anonymous")
	if err != nil {
		return fail(err)
	}
	var m world.Message
	if anonymous {
		m, err = s.SendAnonymously(u.ID, chatID, in["text"])
	} else {
		m, err = s.SendMessage(u.ID, chatID, in["text"])
	}
	if err != nil {
		return fail(err)
	}
	return answer(toMessageJSON(m, u.ID))
}

func (s *Sandbox) handleReceived(r *http.Request, _ map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	out := []messageJSON{}
	for _, m := range s.Received(u.ID) {
		out = append(out, toMessageJSON(m, u.ID))
	}
	return answer(out)
}

func (s *Sandbox) handleContact(r *http.Request, _ map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	m, err := s.ShareContact(u.ID)
	if err != nil {
		return fail(err)
	}
	return answer(toMessageJSON(m, u.ID))
}

func (s *Sandbox) handleJoin(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	link := in["invite_link"]
	if link == "" {
		return fail(badInput("invite_link is required"))
	}
	res, err := s.Join(u.ID, link)
	if err != nil {
		return fail(err)
	}
	out := map[string]any{"result": res.Result}
	if res.Reason != "" {
		out["reason"] = res.Reason
	}
	if res.ChannelID != 0 {
		out["chat_id"] = world.BotAPIChatID(res.ChannelID)
		if c, ok := s.world.Chat(res.ChannelID); ok {
			out["chat_id"] = c.BotAPIID() // -<id> for a basic group
		}
	}
	return answer(out)
}

func (s *Sandbox) handleLeave(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	chatID, err := parseID("chat_id", in["chat_id"])
	if err != nil {
		return fail(err)
	}
	if err := s.Leave(u.ID, chatID); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"ok": true})
}

// handleBlock: the person blocks the bot ({"blocked": false} unblocks).
func (s *Sandbox) handleBlock(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	blocked := in["blocked"] != "false" && in["blocked"] != "0"
	if err := s.BlockBot(u.ID, blocked); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"blocked": blocked})
}

// handlePrivacy changes who may add the person to groups.
func (s *Sandbox) handlePrivacy(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	p, err := world.ParsePrivacy(in["privacy"])
	if err != nil {
		return fail(badInput("%v", err))
	}
	if err := s.world.SetPrivacy(u.ID, p); err != nil {
		return fail(err)
	}
	u, _ = s.world.User(u.ID)
	return answer(toUserJSON(u))
}

func (s *Sandbox) handleListChats(_ *http.Request, _ map[string]string) (int, any, error) {
	out := []chatJSON{}
	for _, c := range s.world.Chats() {
		out = append(out, toChatJSON(c))
	}
	return answer(out)
}

func (s *Sandbox) handleCreateChat(_ *http.Request, in map[string]string) (int, any, error) {
	creator, err := strconv.ParseInt(in["creator"], 10, 64)
	if err != nil {
		return fail(badInput("creator (a user id) is required"))
	}
	basic, err := boolField(in, "basic")
	if err != nil {
		return fail(err)
	}
	var c world.Chat
	if basic {
		if in["about"] != "" {
			return fail(badInput("a basic group has no about"))
		}
		c, err = s.CreateBasicGroup(creator, in["title"])
	} else {
		c, err = s.CreateChat(creator, in["title"], in["about"])
	}
	if err != nil {
		return fail(err)
	}
	return http.StatusCreated, toChatJSON(c), nil
}

func (s *Sandbox) handleMakeAdmin(r *http.Request, in map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
	}
	var userID int64
	if v := in["user_id"]; v != "" && v != "bot" {
		if userID, err = parseID("user_id", v); err != nil {
			return fail(err)
		}
	}
	var rights *world.AdminRights
	if v := in["rights"]; v != "" {
		var rr world.AdminRights
		if err := json.Unmarshal([]byte(v), &rr); err != nil {
			return fail(badInput("rights: %v", err))
		}
		rights = &rr
	}
	if err := s.MakeAdmin(c.BotAPIID(), userID, rights); err != nil {
		return fail(err)
	}
	if userID == 0 {
		userID = s.bot.ID
	}
	return answer(toMemberJSON(s.world.Member(c.ID, userID)))
}

func (s *Sandbox) handleMembers(r *http.Request, in map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
	}
	out := []memberJSON{}
	for _, m := range s.world.Members(c.ID) {
		out = append(out, toMemberJSON(m))
	}
	if in["banned"] != "" {
		for _, m := range s.world.Banned(c.ID) {
			out = append(out, toMemberJSON(m))
		}
	}
	return answer(out)
}

// handleLinks lists a chat's invite links, unmasked.
func (s *Sandbox) handleLinks(r *http.Request, _ map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
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
	return answer(out)
}

// handleRequests lists a chat's pending join requests.
func (s *Sandbox) handleRequests(r *http.Request, _ map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
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
	return answer(out)
}

func (s *Sandbox) handleCode(r *http.Request, _ map[string]string) (int, any, error) {
	phone := r.PathValue("phone")
	code, ok := s.Code(phone)
	if !ok {
		return fail(notFound("no code was sent to %s", phone))
	}
	return answer(map[string]string{"phone": phone, "code": code})
}

// handleCalls lists calls; ?api=bot|mtproto and ?method= filter, ?since=N
// keeps the calls numbered N and later (Call.Seq).
func (s *Sandbox) handleCalls(_ *http.Request, in map[string]string) (int, any, error) {
	since := 0
	if v := in["since"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(badInput("since must be a call number (0 or more)"))
		}
		since = n
	}
	out := []world.Call{}
	for _, c := range s.world.CallsSince(since) {
		if (in["api"] != "" && c.API != in["api"]) || (in["method"] != "" && c.Method != in["method"]) {
			continue
		}
		out = append(out, c)
	}
	return answer(out)
}

func (s *Sandbox) handleFaults(_ *http.Request, in map[string]string) (int, any, error) {
	var f world.Faults
	var err error
	if v := in["rate"]; v != "" {
		if f.Rate, err = strconv.ParseFloat(v, 64); err != nil || f.Rate < 0 || f.Rate > 1 {
			return fail(badInput("rate must be a number from 0 to 1"))
		}
	}
	if v := in["seed"]; v != "" {
		if f.Seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fail(badInput("seed must be an integer"))
		}
	}
	if v := in["kinds"]; v != "" {
		if strings.HasPrefix(strings.TrimSpace(v), "[") {
			if err := json.Unmarshal([]byte(v), &f.Kinds); err != nil {
				return fail(badInput("kinds: %v", err))
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
				return fail(badInput("unknown fault kind %q: want 5xx, timeout, drop, 429 or duplicate", k))
			}
		}
	}
	s.SetFaults(f)
	return answer(s.world.FaultConfig())
}

func (s *Sandbox) handleGetFaults(_ *http.Request, _ map[string]string) (int, any, error) {
	return answer(s.world.FaultConfig())
}

// handleQuiet: POST /sandbox/bot/quiet plays a week without updates for
// the sandbox's bot: its next update_id is random and lower than the last.
func (s *Sandbox) handleQuiet(_ *http.Request, _ map[string]string) (int, any, error) {
	return answer(map[string]int64{"next_update_id": s.botapi.Quiet(s.bot.ID)})
}

// handleReset empties the world but for the sandbox's bot.
func (s *Sandbox) handleReset(_ *http.Request, _ map[string]string) (int, any, error) {
	s.Reset()
	return s.handleIndex(nil, nil)
}

// handleRestrict marks the person's account reported for spam
// ({"restricted": false} lifts it): its MTProto calls that reach other
// people answer USER_RESTRICTED.
func (s *Sandbox) handleRestrict(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	restricted := in["restricted"] != "false" && in["restricted"] != "0"
	if err := s.world.SetRestricted(u.ID, restricted); err != nil {
		return fail(err)
	}
	u, _ = s.world.User(u.ID)
	return answer(toUserJSON(u))
}

// handleBanAccount bans the person's account from Telegram
// ({"banned": false} lifts it): its sessions answer USER_DEACTIVATED_BAN,
// its phone PHONE_NUMBER_BANNED.
func (s *Sandbox) handleBanAccount(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	banned := in["banned"] != "false" && in["banned"] != "0"
	if err := s.world.SetBanned(u.ID, banned); err != nil {
		return fail(err)
	}
	u, _ = s.world.User(u.ID)
	return answer(toUserJSON(u))
}

// handleSendCodeAnswer sets what auth.sendCode answers for the person's
// phone: PHONE_NUMBER_FLOOD, SEND_CODE_UNAVAILABLE, email_setup, payment,
// or "" to send codes again.
func (s *Sandbox) handleSendCodeAnswer(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	if s.mt == nil {
		return fail(badInput("the sandbox runs without MTProto"))
	}
	a, err := mtproto.ParseSendCodeAnswer(in["answer"])
	if err != nil {
		return fail(badInput("%v", err))
	}
	if err := s.mt.SetSendCodeAnswer(u.ID, a); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"answer": string(a)})
}

// handleScan is the person scanning a QR login code (tg://login?token=…)
// with their phone: the waiting client is logged in as them.
func (s *Sandbox) handleScan(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	if s.mt == nil {
		return fail(badInput("the sandbox runs without MTProto"))
	}
	if err := s.mt.AcceptLoginURL(r.Context(), u.ID, in["url"]); err != nil {
		if rpc, ok := tgerr.As(err); ok {
			return fail(badInput("the login code was refused: %s", rpc.Type))
		}
		return fail(err)
	}
	return answer(map[string]any{"accepted": true})
}

// handleBotGroups is BotFather's "Allow Groups?" for the sandbox's bot
// ({"allowed": false} turns groups off): promoting the bot into a group
// it is not in answers BOT_GROUPS_BLOCKED.
func (s *Sandbox) handleBotGroups(_ *http.Request, in map[string]string) (int, any, error) {
	allowed := in["allowed"] != "false" && in["allowed"] != "0"
	if err := s.world.SetAllowGroups(s.bot.ID, allowed); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"allowed": allowed})
}
