package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/world"
)

// demoRules are the demo's rules: short grace so that the story's removal
// happens within the demo.
const demoRules = `# karmagate demo rules
groups: [webmasters, customers]
chats:
  webmasters-pro:
    title: Webmasters Pro
    about: Webmasters with karma 100 and more
    groups: [webmasters]
    min_karma: 100
    leave_below: 90
    grace: 8s
    tag: "{{group}} {{karma}}"
  customers-club:
    title: Customers Club
    about: Customers with karma 50 and more
    groups: [customers]
    min_karma: 50
    on_violation: flag
`

// demoMember is a simulated member of the website.
type demoMember struct {
	id, name string
	karma    int64
	group    string
	person   world.User
	// what the story expects: in which chats the member ends up
	want map[string]bool
}

// runDemo is `karmagate demo`: the sandbox and karmagate against it,
// SQLite in a temporary folder, and the whole story played with simulated
// members, told in plain sentences, then a summary table. It keeps serving
// the dashboard and the sandbox until interrupted; with --exit it ends
// after the story, with status 0 only if every step did what it should.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "`ADDR` of karmagate's API and dashboard")
	sbListen := fs.String("sandbox", "127.0.0.1:8081", "`ADDR` of the sandbox's Bot API and control API")
	exit := fs.Bool("exit", false, "end after the story (status 0 only if every step did what it should)")
	verbose := fs.Bool("v", false, "log what karmagate does")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: karmagate demo [--listen ADDR] [--sandbox ADDR] [--exit] [-v]")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	logLevel := slog.LevelError + 4
	if *verbose {
		logLevel = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	dir, err := os.MkdirTemp("", "karmagate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(demoRules), 0o600); err != nil {
		return err
	}
	d := &demo{out: stdout, started: time.Now()}
	d.say("Starting the sandbox (an embedded Telegram) and karmagate against it, with SQLite in %s.", dir)
	sb, err := sandbox.Start(ctx, sandbox.Config{BotAPIAddr: *sbListen, MTProtoAddr: "127.0.0.1:0", Logger: logger})
	if err != nil {
		return fmt.Errorf("start the sandbox: %w", err)
	}
	defer sb.Close()
	d.sb = sb
	owner, err := sb.CreateUser(world.UserSpec{FirstName: "Olga", Username: "olga_owner", Phone: "+15550100"})
	if err != nil {
		return err
	}
	env := sb.Env()
	apiID, err := strconv.Atoi(env["TELEGRAM_API_ID"])
	if err != nil {
		return fmt.Errorf("the sandbox's app id: %w", err)
	}
	cfg := Config{
		DB: "sqlite:" + filepath.Join(dir, "karmagate.db"), Listen: *listen, APIKey: randomHex(16), Secret: randomHex(32),
		// The demo signs in to the dashboard with the API key, and logs the
		// userbot in over REST with an admin token of its own.
		DashboardAPIKey: true, AdminToken: randomHex(16),
		RulesPath: rules, BotToken: sb.BotToken(), BotAPIURL: sb.BotAPIURL(), LinkTTL: 15 * time.Minute,
		APIID: apiID, APIHash: env["TELEGRAM_API_HASH"], DCAddr: env["TELEGRAM_DC_ADDR"], ServerKey: env["TELEGRAM_SERVER_KEY"],
		ReconcileEvery: time.Hour, Admins: []int64{owner.ID}, LogLevel: logLevel,
	}
	m := NewMain(cfg, logger)
	m.GraceSweep = time.Second
	if err := m.Run(ctx); err != nil {
		m.Close()
		return fmt.Errorf("start karmagate: %w", err)
	}
	defer m.Close()
	d.api, d.key, d.admin = "http://"+m.Addr(), cfg.APIKey, cfg.AdminToken
	d.say("karmagate serves its API on %s; its bot is @%s.", d.api, m.Bot.Username())

	story := d.story(ctx, owner)
	d.summary()
	if story != nil {
		d.fail("the story stopped: %v", story)
	}
	if len(d.failures) > 0 {
		fmt.Fprintf(stdout, "\n%d check(s) failed:\n", len(d.failures))
		for _, f := range d.failures {
			fmt.Fprintf(stdout, "  ✗ %s\n", f)
		}
	} else {
		fmt.Fprintf(stdout, "\nEvery step did what it should (%d checks, %s).\n", d.checks, time.Since(d.started).Round(100*time.Millisecond))
	}
	if *exit {
		if len(d.failures) > 0 {
			return errDemoFailed
		}
		return nil
	}
	fmt.Fprintf(stdout, "\nStill serving; Ctrl-C ends the demo.\n")
	fmt.Fprintf(stdout, "  dashboard:  %s/admin   (sign in with the API key %s)\n", d.api, d.key)
	fmt.Fprintf(stdout, "  REST API:   %s/api/v1  (Authorization: Bearer %s)\n", d.api, d.key)
	fmt.Fprintf(stdout, "  userbots:   %s/api/v1/userbots  (Authorization: Bearer %s, the admin token)\n", d.api, d.admin)
	fmt.Fprintf(stdout, "  sandbox:    %s/sandbox/   (play the people: see sandbox/README.md)\n", sb.BotAPIURL())
	<-ctx.Done()
	return nil
}

var errDemoFailed = errors.New("demo: some steps did not do what they should")

type demo struct {
	out      io.Writer
	started  time.Time
	sb       *sandbox.Sandbox
	api, key string
	admin    string // KARMAGATE_ADMIN_TOKEN: the userbot routes take it
	members  []*demoMember
	chats    map[string]world.Chat
	checks   int
	failures []string
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "%6.1fs  %s\n", time.Since(d.started).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demo) check(ok bool, format string, args ...any) {
	d.checks++
	if !ok {
		d.fail(format, args...)
	}
}

func (d *demo) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.failures = append(d.failures, msg)
	fmt.Fprintf(d.out, "        ✗ %s\n", msg)
}

// call calls karmagate's REST API as the website does.
func (d *demo) call(ctx context.Context, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.api+path, r)
	if err != nil {
		return 0, err
	}
	token := d.key
	if strings.HasPrefix(path, "/api/v1/userbots") {
		token = d.admin // the userbot pool's routes refuse the API key
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(raw)))
	}
	return res.StatusCode, nil
}

// wait polls cond for up to a while; it reports whether cond came true.
func (d *demo) wait(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

type memberState struct {
	Telegram *struct {
		UserID int64 `json:"user_id"`
	} `json:"telegram"`
	Karma int64 `json:"karma"`
	Chats []struct {
		Key     string `json:"key"`
		State   string `json:"state"`
		Reason  string `json:"reason"`
		InChat  bool   `json:"in_chat"`
		JoinURL string `json:"join_url"`
	} `json:"chats"`
}

func (d *demo) member(ctx context.Context, id string) (memberState, error) {
	var m memberState
	_, err := d.call(ctx, "GET", "/api/v1/members/"+url.PathEscape(id), nil, &m)
	return m, err
}

func (d *demo) inChat(key string, userID int64) bool {
	ms, err := d.sb.Members(d.chats[key].BotAPIID())
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.User.ID == userID {
			switch m.Status {
			case world.StatusCreator, world.StatusAdministrator, world.StatusMember:
				return true
			}
		}
	}
	return false
}

// botAdmin reports whether the bot is an admin of ch.
func (d *demo) botAdmin(ch world.Chat) bool {
	ms, err := d.sb.Members(ch.BotAPIID())
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.User.ID == d.sb.Bot().ID {
			return m.Status == world.StatusAdministrator
		}
	}
	return false
}

// received is what the bot sent a person.
func (d *demo) received(userID int64) []string {
	var out []string
	for _, m := range d.sb.Received(userID) {
		if m.FromID == d.sb.Bot().ID {
			out = append(out, m.Text)
		}
	}
	return out
}

// story plays the demo's story; an error is a step that could not run.
func (d *demo) story(ctx context.Context, owner world.User) error {
	// 1. A userbot logs in (REST steps, as the site's admin page does) and
	// creates the groups the rules name, with the bot as their admin.
	const phone = "+15550100"
	var step struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if _, err := d.call(ctx, "POST", "/api/v1/userbots", map[string]any{"phone": phone}, &step); err != nil {
		return err
	}
	var code string
	if !d.wait(ctx, 15*time.Second, func() bool { code, _ = d.sb.Code(phone); return code != "" }) {
		return fmt.Errorf("no login code reached %s", phone)
	}
	if _, err := d.call(ctx, "POST", fmt.Sprintf("/api/v1/userbots/%d/code", step.ID), map[string]any{"code": code}, &step); err != nil {
		return err
	}
	d.check(step.State == "ready", "the userbot account logged in (state %q)", step.State)
	d.say("Olga logs a Telegram account in as the userbot: POST /api/v1/userbots with its phone, then the code Telegram sent it.")
	var chats []struct {
		Key      string `json:"key"`
		TgChatID *int64 `json:"telegram_chat_id"`
	}
	d.chats = map[string]world.Chat{}
	ok := d.wait(ctx, 30*time.Second, func() bool {
		var out struct {
			Chats []struct {
				Key      string `json:"key"`
				TgChatID *int64 `json:"telegram_chat_id"`
			} `json:"chats"`
		}
		if _, err := d.call(ctx, "GET", "/api/v1/chats", nil, &out); err != nil {
			return false
		}
		chats = out.Chats
		for _, c := range out.Chats {
			if c.TgChatID == nil {
				return false
			}
		}
		return len(out.Chats) == 2
	})
	d.check(ok, "both groups created (GET /api/v1/chats: %+v)", chats)
	for _, c := range chats {
		if c.TgChatID == nil {
			continue
		}
		ch, ok := d.sb.World().ChatByBotAPIID(*c.TgChatID)
		if !ok {
			return fmt.Errorf("chat %d is not in the sandbox", *c.TgChatID)
		}
		d.chats[c.Key] = ch
	}
	d.check(d.wait(ctx, 20*time.Second, func() bool {
		for _, ch := range d.chats {
			if !d.botAdmin(ch) {
				return false
			}
		}
		return len(d.chats) == 2
	}), "the bot is an admin in both groups")
	d.say("The userbot creates the private supergroups Webmasters Pro and Customers Club and makes the bot their admin; GET /api/v1/chats shows their Telegram ids.")

	// 2. The website pushes its members.
	d.members = []*demoMember{
		{id: "alice", name: "Alice", karma: 150, group: "webmasters", want: map[string]bool{"webmasters-pro": true}},
		{id: "bruno", name: "Bruno", karma: 120, group: "webmasters", want: map[string]bool{"webmasters-pro": false}}, // drops later
		{id: "chen", name: "Chen", karma: 60, group: "webmasters", want: map[string]bool{}},
		{id: "dana", name: "Dana", karma: 75, group: "customers", want: map[string]bool{"customers-club": true}},
		{id: "emil", name: "Emil", karma: 20, group: "customers", want: map[string]bool{}},
		{id: "fatima", name: "Fatima", karma: 1000, group: "customers", want: map[string]bool{"customers-club": true}},
	}
	var bulk []map[string]any
	for _, m := range d.members {
		bulk = append(bulk, map[string]any{"id": m.id, "karma": m.karma, "groups": []string{m.group}, "name": m.name})
	}
	if _, err := d.call(ctx, "POST", "/api/v1/members/bulk", bulk, nil); err != nil {
		return err
	}
	d.say("The website pushes %d members in one bulk call: webmasters and customers with karma from 20 to 1000.", len(d.members))

	// 3. Each taps the deep link on their profile page.
	for _, m := range d.members {
		p, err := d.sb.CreateUser(world.UserSpec{FirstName: m.name, Username: strings.ToLower(m.name) + "_tg", LanguageCode: "en"})
		if err != nil {
			return err
		}
		m.person = p
		var link struct {
			URL string `json:"url"`
		}
		if _, err := d.call(ctx, "POST", "/api/v1/members/"+m.id+"/link", nil, &link); err != nil {
			return err
		}
		u, err := url.Parse(link.URL)
		if err != nil {
			return err
		}
		if _, err := d.sb.StartBot(p.ID, u.Query().Get("start")); err != nil {
			return err
		}
	}
	for _, m := range d.members {
		ok := d.wait(ctx, 15*time.Second, func() bool {
			st, err := d.member(ctx, m.id)
			return err == nil && st.Telegram != nil && st.Telegram.UserID == m.person.ID && len(d.received(m.person.ID)) > 0
		})
		d.check(ok, "%s linked and answered", m.id)
	}
	first := d.received(d.members[0].person.ID)
	d.say("Each member taps \"Connect Telegram\" on their profile (a one-time deep link); the bot links them and says where they may go. Alice reads:")
	if len(first) > 0 {
		d.quote(first[0])
	}

	// 4. They open the join links the API shows; the bot decides.
	for _, m := range d.members {
		st, err := d.member(ctx, m.id)
		if err != nil {
			return err
		}
		for _, c := range st.Chats {
			if c.JoinURL != "" {
				if _, err := d.sb.Join(m.person.ID, c.JoinURL); err != nil {
					return err
				}
			}
		}
	}
	// The ineligible try a group's link they got from a friend.
	for _, m := range d.members {
		if m.id == "chen" || m.id == "emil" {
			key := "webmasters-pro"
			if m.group == "customers" {
				key = "customers-club"
			}
			if _, err := d.sb.Join(m.person.ID, d.joinLink(ctx, key)); err != nil {
				return err
			}
		}
	}
	for _, m := range d.members {
		for key, want := range m.want {
			if m.id == "bruno" {
				want = true // in, until his karma drops below
			}
			if want {
				d.check(d.wait(ctx, 15*time.Second, func() bool { return d.inChat(key, m.person.ID) }), "%s gets into %s", m.id, key)
			}
		}
	}
	d.check(!d.inChat("webmasters-pro", d.byID("chen").person.ID), "chen (karma 60) is kept out of webmasters-pro")
	d.check(!d.inChat("customers-club", d.byID("emil").person.ID), "emil (karma 20) is kept out of customers-club")
	d.say("They open the join links: Alice and Bruno are let into Webmasters Pro, Dana and Fatima into Customers Club; Chen (karma 60) and Emil (karma 20) are declined and told why.")

	// 5. A leaked link admits nobody.
	mallory, err := d.sb.CreateUser(world.UserSpec{FirstName: "Mallory"})
	if err != nil {
		return err
	}
	if _, err := d.sb.Join(mallory.ID, d.joinLink(ctx, "webmasters-pro")); err != nil {
		return err
	}
	told := d.wait(ctx, 15*time.Second, func() bool { return len(d.received(mallory.ID)) > 0 })
	d.check(told && !d.inChat("webmasters-pro", mallory.ID), "a stranger with the leaked join link is declined and told")
	d.say("The Webmasters Pro link leaks to Mallory, who is no member of the website: declined, and told why.")

	// 6. Bruno's karma drops: grace, a warning, then removal.
	if _, err := d.call(ctx, "POST", "/api/v1/members/bruno/karma", map[string]any{"delta": -40}, nil); err != nil {
		return err
	}
	bruno := d.byID("bruno")
	warned := d.wait(ctx, 15*time.Second, func() bool { return d.lastHas(bruno.person.ID, "Heads up") })
	d.check(warned, "bruno warned when his karma drops to 80 (below leave_below 90)")
	d.say("Bruno's karma drops from 120 to 80, below the chat's leave_below of 90: he gets 8 seconds of grace and a warning.")
	removed := d.wait(ctx, 30*time.Second, func() bool { return !d.inChat("webmasters-pro", bruno.person.ID) })
	d.check(removed, "bruno removed when his grace ends")
	d.check(d.wait(ctx, 15*time.Second, func() bool { return d.lastHas(bruno.person.ID, "removed from Webmasters Pro") }), "bruno told why he was removed")
	d.say("His grace ends with karma still 80: the bot removes him (he can come back at 100) and tells him why:")
	if r := d.received(bruno.person.ID); len(r) > 0 {
		d.quote(r[len(r)-1])
	}

	// 7. Olga asks the bot for the state of her chats.
	before := len(d.received(owner.ID))
	if _, err := d.sb.SendMessage(owner.ID, 0, "/status"); err != nil {
		return err
	}
	answered := d.wait(ctx, 15*time.Second, func() bool { return len(d.received(owner.ID)) > before })
	d.check(answered, "the admin's /status answered")
	d.say("Olga sends the bot /status:")
	if r := d.received(owner.ID); len(r) > before {
		d.quote(r[before])
	}
	return nil
}

func (d *demo) byID(id string) *demoMember {
	for _, m := range d.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (d *demo) joinLink(ctx context.Context, key string) string {
	for _, l := range d.sb.World().InviteLinks(d.chats[key].ID) {
		if l.CreatesJoinRequest && !l.IsRevoked {
			return l.Link
		}
	}
	return ""
}

func (d *demo) lastHas(userID int64, text string) bool {
	for _, m := range d.received(userID) {
		if strings.Contains(m, text) {
			return true
		}
	}
	return false
}

func (d *demo) quote(text string) {
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(d.out, "          │ %s\n", line)
	}
}

// summary prints where every member ended up.
func (d *demo) summary() {
	fmt.Fprintln(d.out)
	w := tabwriter.NewWriter(d.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "member\tkarma\tgroup\tWebmasters Pro\tCustomers Club")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range d.members {
		st, err := d.member(ctx, m.id)
		if err != nil {
			fmt.Fprintf(w, "%s\t?\t%s\t%v\t\n", m.id, m.group, err)
			continue
		}
		cells := map[string]string{}
		for _, c := range st.Chats {
			cell := c.State
			if d.inChat(c.Key, m.person.ID) {
				cell += " (in)"
			}
			cells[c.Key] = cell
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", m.id, st.Karma, m.group, cells["webmasters-pro"], cells["customers-club"])
	}
	w.Flush()
}
