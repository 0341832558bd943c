package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// Page sizes.
const (
	membersPerPage = 50
	eventsPerPage  = 50
	removalsShown  = 200
)

type overviewData struct {
	models.Overview
	InChats int64 // members in gated chats, counted once per chat
	Waiting int64 // outbox actions pending or running
	Recent  []models.Event
	// BindCodes shows each chat's "Bind code" button.
	BindCodes bool
	// Audits shows a bound chat's "Audit" button while its audits are off.
	Audits bool
	// Instances are the karmagate processes sharing the database, when
	// the store lists them.
	Instances []models.InstanceView
	Alive     int
	// FirstRun walks the owner through the first steps until all are
	// done; nil then.
	FirstRun *firstRun
}

// instanceLister lists the karmagate processes (models.Store does).
type instanceLister interface {
	Instances(ctx context.Context) ([]models.InstanceView, error)
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	ov, err := s.store.Overview(r.Context())
	if err != nil {
		return err
	}
	recent, err := s.store.Events(r.Context(), models.EventFilter{Limit: 8})
	if err != nil {
		return err
	}
	d := overviewData{Overview: ov, Waiting: ov.Outbox[models.ActionPending] + ov.Outbox[models.ActionRunning], Recent: recent,
		BindCodes: s.bindCode != nil, Audits: s.audits != nil, FirstRun: newFirstRun(ov, s.telegram)}
	for _, c := range ov.Chats {
		d.InChats += c.InChat
	}
	if il, ok := s.store.(instanceLister); ok {
		if d.Instances, err = il.Instances(r.Context()); err != nil {
			return err
		}
		for _, v := range d.Instances {
			if v.Alive {
				d.Alive++
			}
		}
	}
	s.render(w, r, sess, http.StatusOK, "overview", "Overview", d)
	return nil
}

// showFilters are the member filters a chat can be narrowed by, besides
// each state: the values of ?show=.
var showFilters = []struct{ Value, Label string }{
	{"in", "In the chat (Telegram)"},
	{"due", "Should be in"},
}

type membersData struct {
	Query   string
	Chat    string
	Show    string
	Chats   []*gate.Chat
	States  []gate.State
	Shows   []struct{ Value, Label string }
	Page    models.MemberPage
	From    int // 1-based index of the first member shown
	To      int
	PageNo  int
	Pages   int
	PrevURL string
	NextURL string
	Empty   bool // no members at all, nothing filtered
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	d := membersData{Query: strings.TrimSpace(q.Get("q")), Chat: q.Get("chat"), Show: q.Get("show"),
		Chats: s.store.Rules().Chats, States: gate.States, Shows: showFilters}
	f := models.MemberSearch{Query: d.Query, Limit: membersPerPage}
	if len(d.Query) > 100 {
		return &models.InputError{Field: "q", Detail: "Search for at most 100 characters."}
	}
	if d.Chat != "" {
		if !slices.ContainsFunc(d.Chats, func(c *gate.Chat) bool { return c.Key == d.Chat }) {
			return &pageError{status: http.StatusNotFound, title: "No such chat", detail: "The rules have no chat " + strconv.Quote(d.Chat) + "."}
		}
		f.Chat = d.Chat
		switch st := gate.State(d.Show); {
		case d.Show == "":
		case d.Show == "in":
			f.InChat = true
		case d.Show == "due":
			f.States = models.ShouldBeIn
		case st.Valid():
			f.States = []gate.State{st}
		default:
			return &models.InputError{Field: "show", Detail: "Unknown filter " + strconv.Quote(d.Show) + "."}
		}
	}
	d.PageNo = 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return &models.InputError{Field: "page", Detail: "The page must be a number from 1."}
		}
		d.PageNo = n
	}
	f.Offset = (d.PageNo - 1) * membersPerPage
	page, err := s.store.SearchMembers(r.Context(), f)
	if err != nil {
		return err
	}
	d.Page = page
	d.Pages = max(1, int((page.Total+membersPerPage-1)/membersPerPage))
	d.From, d.To = f.Offset+1, f.Offset+len(page.Members)
	d.Empty = page.Total == 0 && d.Query == "" && d.Chat == ""
	pageURL := func(n int) string {
		v := url.Values{}
		for k, x := range map[string]string{"q": d.Query, "chat": d.Chat, "show": d.Show} {
			if x != "" {
				v.Set(k, x)
			}
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return Prefix + "/members"
		}
		return Prefix + "/members?" + v.Encode()
	}
	if d.PageNo > 1 {
		d.PrevURL = pageURL(min(d.PageNo-1, d.Pages))
	}
	if d.PageNo < d.Pages {
		d.NextURL = pageURL(d.PageNo + 1)
	}
	s.render(w, r, sess, http.StatusOK, "members", "Members", d)
	return nil
}

type memberChat struct {
	Chat     *gate.Chat
	State    models.ChatState
	Override gate.Override
}

type memberData struct {
	View   *models.MemberView
	Chats  []memberChat
	Events []models.Event
	More   bool
}

func (s *Server) memberPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	if err := models.CheckID(id); err != nil {
		return err
	}
	v, err := s.store.FindMember(r.Context(), id)
	if err != nil {
		return err
	}
	ovs, err := s.store.Overrides(r.Context(), id)
	if err != nil {
		return err
	}
	evs, err := s.store.Events(r.Context(), models.EventFilter{Member: id, Limit: 21})
	if err != nil {
		return err
	}
	d := memberData{View: v, Events: evs}
	if len(evs) > 20 {
		d.Events, d.More = evs[:20], true
	}
	for _, c := range s.store.Rules().Chats {
		mc := memberChat{Chat: c, Override: ovs[c.Key]}
		for _, st := range v.Chats {
			if st.ChatKey == c.Key {
				mc.State = st
			}
		}
		d.Chats = append(d.Chats, mc)
	}
	s.render(w, r, sess, http.StatusOK, "member", id, d)
	return nil
}

// setOverride exempts a member in a chat (mode=always) or lifts the
// exemption (mode=none).
func (s *Server) setOverride(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	if err := models.CheckID(id); err != nil {
		return err
	}
	chat := r.PostFormValue("chat")
	var mode gate.Override
	done := ""
	switch r.PostFormValue("mode") {
	case "always":
		mode, done = gate.OverrideAlways, "exempt"
	case "none":
		mode, done = gate.OverrideNone, "lifted"
	default:
		return &models.InputError{Field: "mode", Detail: "Choose to exempt the member or to lift the exemption."}
	}
	if _, err := s.store.SetOverride(r.Context(), id, chat, mode, actor(sess)); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: override set", "member", id, "chat", chat, "mode", string(mode), "user", sess.User)
	http.Redirect(w, r, Prefix+"/members/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
	return nil
}

// actor is how the audit trail names a change made in the dashboard.
func actor(sess *session) string { return "dashboard:" + sess.User }

type removalChat struct {
	Chat  *gate.Chat
	Count int
}

type removalsData struct {
	Removals []models.Action
	Total    int64
	ByChat   []removalChat
	Titles   map[string]string
	DryRun   bool // a confirmer is wired in
}

func (s *Server) removalsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	rs, total, err := s.store.PlannedRemovals(r.Context(), "", removalsShown)
	if err != nil {
		return err
	}
	d := removalsData{Removals: rs, Total: total, DryRun: s.removals != nil, Titles: map[string]string{}}
	for _, c := range s.store.Rules().Chats {
		d.Titles[c.Key] = c.Title
		n := 0
		for _, a := range rs {
			if a.ChatKey == c.Key && a.Status == models.ActionHeld {
				n++ // only held removals wait for a confirmation
			}
		}
		if n > 0 {
			d.ByChat = append(d.ByChat, removalChat{Chat: c, Count: n})
		}
	}
	s.render(w, r, sess, http.StatusOK, "removals", "Planned removals", d)
	return nil
}

func (s *Server) confirmRemovals(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.removals == nil {
		return &pageError{status: http.StatusConflict, title: "Nothing to confirm",
			detail: "Dry run is not available here: removals run without confirmation."}
	}
	chat := r.PostFormValue("chat")
	if !slices.ContainsFunc(s.store.Rules().Chats, func(c *gate.Chat) bool { return c.Key == chat }) {
		return &pageError{status: http.StatusNotFound, title: "No such chat", detail: "The rules have no chat " + strconv.Quote(chat) + "."}
	}
	n, err := s.removals.ConfirmRemovals(r.Context(), chat, actor(sess))
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: removals confirmed", "chat", chat, "removals", n, "user", sess.User)
	http.Redirect(w, r, Prefix+"/removals?done=confirmed", http.StatusSeeOther)
	return nil
}

// bindCodeData is the bind-code page: the command, shown this once.
type bindCodeData struct {
	Chat      *gate.Chat
	Command   string
	ExpiresAt time.Time
}

// issueBindCode issues a one-time bind code for a chat and shows the
// command to send in the group, once: the store keeps only its hash, and
// the page is not cached (no-store) nor reachable again.
func (s *Server) issueBindCode(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.bindCode == nil {
		return &pageError{status: http.StatusConflict, title: "No bind codes here",
			detail: "This karmagate cannot issue bind codes."}
	}
	key := r.PathValue("key")
	i := slices.IndexFunc(s.store.Rules().Chats, func(c *gate.Chat) bool { return c.Key == key })
	if i < 0 {
		return &pageError{status: http.StatusNotFound, title: "No such chat", detail: "The rules have no chat " + strconv.Quote(key) + "."}
	}
	c, err := s.bindCode.IssueBindCode(r.Context(), key, actor(sess))
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: bind code issued", "chat", key, "user", sess.User)
	s.render(w, r, sess, http.StatusOK, "bindcode", "Bind code", bindCodeData{Chat: s.store.Rules().Chats[i], Command: c.Command(), ExpiresAt: c.ExpiresAt})
	return nil
}

// startAudit asks for an audit of a chat's hand-made group, as /audit on
// does in the group, and goes back to the overview.
func (s *Server) startAudit(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.audits == nil {
		return &pageError{status: http.StatusConflict, title: "No audits here",
			detail: "This karmagate has no bot to start audits with."}
	}
	key := r.PathValue("key")
	if !slices.ContainsFunc(s.store.Rules().Chats, func(c *gate.Chat) bool { return c.Key == key }) {
		return &pageError{status: http.StatusNotFound, title: "No such chat", detail: "The rules have no chat " + strconv.Quote(key) + "."}
	}
	// The group's invite links are paced by Telegram: wait a little for
	// the turn, not as long as a flood wait can last.
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	err := s.audits.StartAudit(ctx, key, actor(sess))
	if errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrNotBound) {
		return &pageError{status: http.StatusConflict, title: "Not bound yet",
			detail: "No Telegram group is bound to " + strconv.Quote(key) + ": bind one first (the Bind code button), then audit it."}
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: audit asked for", "chat", key, "user", sess.User)
	http.Redirect(w, r, Prefix+"/?done=audit", http.StatusSeeOther)
	return nil
}

type userbotsData struct {
	Pool     bool
	Accounts []Account
}

func (s *Server) userbotsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	d := userbotsData{Pool: s.userbots != nil}
	if s.userbots != nil {
		as, err := s.userbots.Accounts(r.Context())
		if err != nil {
			return err
		}
		d.Accounts = as
	}
	s.render(w, r, sess, http.StatusOK, "userbots", "Userbot accounts", d)
	return nil
}

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (s *Server) userbotLogin(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.userbots == nil {
		return errNotFound
	}
	if err := mayLogIn(sess); err != nil {
		return err
	}
	phone := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(r.PostFormValue("phone"))
	if !phonePattern.MatchString(phone) {
		return &models.InputError{Field: "phone", Detail: "Enter the account's phone number in international form, such as +14155550123."}
	}
	st, err := s.userbots.StartLogin(r.Context(), phone)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: userbot login started", "account", st.ID, "user", sess.User)
	return s.loginStep(w, r, st)
}

func (s *Server) userbotCode(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.userbots == nil {
		return errNotFound
	}
	if err := mayLogIn(sess); err != nil {
		return err
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" || len(code) > 16 {
		return &models.InputError{Field: "code", Detail: "Enter the code Telegram sent to the account."}
	}
	st, err := s.userbots.SubmitCode(r.Context(), r.PathValue("id"), code)
	if err != nil {
		return err
	}
	return s.loginStep(w, r, st)
}

func (s *Server) userbotPassword(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.userbots == nil {
		return errNotFound
	}
	if err := mayLogIn(sess); err != nil {
		return err
	}
	pw := r.PostFormValue("password")
	if pw == "" {
		return &models.InputError{Field: "password", Detail: "Enter the account's two-step verification password."}
	}
	st, err := s.userbots.SubmitPassword(r.Context(), r.PathValue("id"), pw)
	if err != nil {
		return err
	}
	return s.loginStep(w, r, st)
}

// mayLogIn refuses userbot logins to the API key's session: the REST
// API's userbot routes take only KARMAGATE_ADMIN_TOKEN, and the website's
// key must not log accounts in here either.
func mayLogIn(sess *session) error {
	if sess.User == APIKeyUser {
		return &models.InputError{Detail: "Signed in with the API key, you may not log userbot accounts in: sign in as an admin (KARMAGATE_ADMIN_USERS), or use karmagate userbot login."}
	}
	return nil
}

func (s *Server) loginStep(w http.ResponseWriter, r *http.Request, st LoginState) error {
	done := map[string]string{LoginCodeSent: "code", LoginPasswordNeeded: "password", LoginReady: "ready"}[st.State]
	http.Redirect(w, r, Prefix+"/userbots?done="+done, http.StatusSeeOther)
	return nil
}

// eventKinds are the audit trail's kinds, for the filter.
var eventKinds = []string{
	models.EventMemberCreated, models.EventMemberUpdated, models.EventMemberDeleted, models.EventBulkImport,
	models.EventKarmaChanged, models.EventStateChanged, models.EventOverrideSet, models.EventLinked, models.EventUnlinked,
	models.EventMembership, models.EventStranger, models.EventActionDone, models.EventActionRetry, models.EventActionFailed,
	models.EventActionDeferred, models.EventChatBound, models.EventChatUnbound, models.EventRulesChanged,
	models.EventSourceRefused, models.EventSourceFailed, models.EventSourceHeld,
}

type auditData struct {
	Member, Chat, Kind string
	Chats              []*gate.Chat
	Kinds              []string
	Events             []models.Event
	Before             int64
	NewestURL          string
	OlderURL           string
	Filtered           bool
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	d := auditData{Member: strings.TrimSpace(q.Get("member")), Chat: q.Get("chat"), Kind: q.Get("kind"),
		Chats: s.store.Rules().Chats, Kinds: eventKinds}
	if d.Member != "" {
		if err := models.CheckID(d.Member); err != nil {
			return err
		}
	}
	if d.Kind != "" && !slices.Contains(eventKinds, d.Kind) {
		d.Kinds = append(slices.Clone(eventKinds), d.Kind)
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return &models.InputError{Field: "before", Detail: "before must be an event number."}
		}
		d.Before = n
	}
	evs, err := s.store.Events(r.Context(), models.EventFilter{Member: d.Member, Chat: d.Chat, Kind: d.Kind,
		Before: d.Before, Limit: eventsPerPage + 1})
	if err != nil {
		return err
	}
	d.Filtered = d.Member != "" || d.Chat != "" || d.Kind != ""
	base := url.Values{}
	for k, x := range map[string]string{"member": d.Member, "chat": d.Chat, "kind": d.Kind} {
		if x != "" {
			base.Set(k, x)
		}
	}
	link := func(v url.Values) string {
		if len(v) == 0 {
			return Prefix + "/audit"
		}
		return Prefix + "/audit?" + v.Encode()
	}
	if len(evs) > eventsPerPage {
		evs = evs[:eventsPerPage]
		older := url.Values{}
		for k, v := range base {
			older[k] = v
		}
		older.Set("before", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		d.OlderURL = link(older)
	}
	if d.Before > 0 {
		d.NewestURL = link(base)
	}
	d.Events = evs
	s.render(w, r, sess, http.StatusOK, "audit", "Audit trail", d)
	return nil
}

type chartsData struct {
	Members *chart
	Actions *chart
	Outbox  *chart
}

func (s *Server) chartsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	now := s.now().UTC()
	// Members per chat: the last 14 days, a point a day; actions and the
	// outbox: the last 48 hours, an hour a step. Each grid ends at the end
	// of the current day or hour.
	days := models.Timeline{From: now.Truncate(24 * time.Hour).Add(-13 * 24 * time.Hour), Step: 24 * time.Hour, N: 14}
	hours := models.Timeline{From: now.Truncate(time.Hour).Add(-47 * time.Hour), Step: time.Hour, N: 48}
	members, err := s.store.MembersOverTime(r.Context(), days)
	if err != nil {
		return err
	}
	actions, err := s.store.ActionsOverTime(r.Context(), hours)
	if err != nil {
		return err
	}
	outbox, err := s.store.OutboxOverTime(r.Context(), hours)
	if err != nil {
		return err
	}
	var lines []series
	for _, c := range s.store.Rules().Chats {
		lines = append(lines, series{Key: c.Key, Label: c.Title, Values: members[c.Key]})
	}
	var bars []series
	for _, k := range []string{string(gate.ActionInvite), string(gate.ActionUninvite), string(gate.ActionWarn),
		string(gate.ActionRemove), string(gate.ActionFlag), "notify", "failed"} {
		if v, ok := actions[k]; ok {
			bars = append(bars, series{Key: k, Label: kindLabel(k), Values: v})
			delete(actions, k)
		}
	}
	var extra []series // kinds added later, in name order
	for k, v := range actions {
		extra = append(extra, series{Key: k, Label: kindLabel(k), Values: v})
	}
	slices.SortFunc(extra, func(a, b series) int { return strings.Compare(a.Key, b.Key) })
	bars = append(bars, extra...)
	d := chartsData{
		Members: lineChart(wide, days, lines, false),
		Actions: barChart(half, hours, bars),
		Outbox:  lineChart(half, hours, []series{{Key: "outbox", Label: "Waiting or running", Values: outbox}}, true),
	}
	s.render(w, r, sess, http.StatusOK, "charts", "Charts", d)
	return nil
}
