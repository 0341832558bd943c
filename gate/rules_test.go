package gate_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

const goodRules = `
groups: [webmasters, customers, staff]
chats:
  webmasters-pro:
    title: Webmasters Pro
    about: Webmasters with karma 100 and more
    groups: [webmasters]
    min_karma: 100
    leave_below: 90
    grace: 24h
  customers-club:
    title: Customers Club
    groups: [customers, staff]
    min_karma: 50
    on_violation: flag
  everyone:
    title: Everyone
    groups: ["*"]
    min_karma: -5
`

func MustParse(t testing.TB, src string) *gate.Rules {
	t.Helper()
	r, err := gate.ParseRules("rules.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	return r
}

func TestParseRules_Good(t *testing.T) {
	r := MustParse(t, goodRules)
	if len(r.Chats) != 3 || r.Chats[0].Key != "webmasters-pro" || r.Chats[2].Key != "everyone" {
		t.Fatalf("chats in wrong order or missing: %+v", r.Chats)
	}
	wp, _ := r.Chat("webmasters-pro")
	if wp.MinKarma != 100 || wp.LeaveBelow != 90 || wp.Grace != 24*time.Hour || wp.OnViolation != gate.ViolationRemove {
		t.Errorf("webmasters-pro = %+v", wp)
	}
	cc, _ := r.Chat("customers-club")
	if cc.LeaveBelow != 50 || cc.OnViolation != gate.ViolationFlag {
		t.Errorf("customers-club = %+v", cc)
	}
	ev, _ := r.Chat("everyone")
	if !ev.AnyGroup || ev.MinKarma != -5 {
		t.Errorf("everyone = %+v", ev)
	}
	if !r.GroupAllowed("staff") || r.GroupAllowed("hackers") || !r.RestrictsGroups() {
		t.Error("group restriction not applied")
	}
	if len(r.Hash) != 64 {
		t.Errorf("hash = %q", r.Hash)
	}
}

func TestParseRules_Example(t *testing.T) {
	r, err := gate.LoadRules(filepath.Join("..", "rules.example.yaml"))
	if err != nil {
		t.Fatalf("the shipped example must load: %v", err)
	}
	if len(r.Chats) < 2 {
		t.Fatalf("example has %d chats", len(r.Chats))
	}
}

func TestParseRules_Bad(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"empty", "", 0, "empty"},
		{"not yaml", "chats: [\n", 1, "did not find"},
		{"no chats", "groups: [a]\n", 1, "no chats"},
		{"unknown section", "chatz: {}\n", 1, `unknown section "chatz"`},
		{"empty chats", "chats: {}\n", 1, "at least one"},
		{"bad key", "chats:\n  Web Pro:\n    title: x\n", 2, "chat key"},
		{"unknown field", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 1\n    mni_karma: 2\n", 6, `unknown field "mni_karma"`},
		{"karma not int", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: lots\n", 5, "must be an integer"},
		{"karma overflow", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 99999999999999999999\n", 5, "between"},
		{"missing title", "chats:\n  a:\n    groups: [x]\n    min_karma: 1\n", 3, "title is required"},
		{"missing groups", "chats:\n  a:\n    title: A\n    min_karma: 1\n", 3, "groups is required"},
		{"missing min", "chats:\n  a:\n    title: A\n    groups: [x]\n", 3, "min_karma is required"},
		{"leave above min", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 10\n    leave_below: 20\n", 3, "must not be above"},
		{"bad grace", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 1\n    grace: 1 day\n", 6, "not a duration"},
		{"negative grace", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 1\n    grace: -1h\n", 6, "between 0"},
		{"bad violation", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 1\n    on_violation: ban\n", 6, "remove or flag"},
		{"duplicate chat", "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 1\n  a:\n    title: B\n", 6, "repeated"},
		{"group not in taxonomy", "groups: [x]\nchats:\n  a:\n    title: A\n    groups: [y]\n    min_karma: 1\n", 5, "not in the top-level groups"},
		{"star with others", "chats:\n  a:\n    title: A\n    groups: ['*', x]\n    min_karma: 1\n", 4, "any group"},
		{"bad group name", "chats:\n  a:\n    title: A\n    groups: ['web masters']\n    min_karma: 1\n", 4, "not a valid group"},
		{"long title", "chats:\n  a:\n    title: " + strings.Repeat("x", 129) + "\n    groups: [x]\n    min_karma: 1\n", 3, "Telegram allows 128"},
		{"groups not list", "chats:\n  a:\n    title: A\n    groups: webmasters\n    min_karma: 1\n", 4, "must be a list"},
		{"chat not mapping", "chats:\n  a: 5\n", 2, "must be a mapping"},
		{"oversized", "# " + strings.Repeat("x", gate.MaxRulesSize), 0, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gate.ParseRules("rules.yaml", []byte(tt.src))
			var re *gate.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *gate.Error", err)
			}
			if re.File != "rules.yaml" || re.Line != tt.line || !strings.Contains(re.Msg, tt.want) {
				t.Errorf("err = %q (line %d), want line %d containing %q", err, re.Line, tt.line, tt.want)
			}
		})
	}
}

func TestLoadRules_Missing(t *testing.T) {
	_, err := gate.LoadRules(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestParseRules_BotKeys(t *testing.T) {
	base := "chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: 100\n"
	tests := []struct {
		name, extra, top, want string
	}{
		{name: "tag", extra: "    tag: \"{{group}} {{karma}}\"\n"},
		{name: "tag with name", extra: "    tag: \"{{ name }}\"\n"},
		{name: "tag unknown placeholder", extra: "    tag: \"{{level}}\"\n", want: "unknown placeholder {{level}}"},
		{name: "tag with emoji", extra: "    tag: \"pro \U0001F680\"\n", want: "no emoji"},
		{name: "personal links", extra: "    personal_links: true\n"},
		{name: "personal links not a bool", extra: "    personal_links: yes please\n", want: "personal_links must be true or false"},
		{name: "dry run", extra: "    dry_run: true\n"},
		{name: "dry run off", extra: "    dry_run: false\n"},
		{name: "dry run not a bool", extra: "    dry_run: maybe\n", want: "rules.yaml:6: chats.pro.dry_run must be true or false"},
		{name: "messages", top: "messages:\n  access_gained:\n    en: \"Come in: {{.Link}}\"\n    ru: \"Входите: {{.Link}}\"\n"},
		{name: "messages bad language", top: "messages:\n  access_gained:\n    english: hi\n", want: "not a language code"},
		{name: "messages empty text", top: "messages:\n  access_gained:\n    en: \"\"\n", want: "is empty"},
		{name: "messages repeated", top: "messages:\n  access_gained:\n    en: a\n    en: b\n", want: "repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := gate.ParseRules("rules.yaml", []byte(tt.top+base+tt.extra))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, _ := r.Chat("pro")
			switch tt.name {
			case "tag":
				if got := c.RenderTag(150, "webmasters", "Alice"); got != "webmasters 150" {
					t.Errorf("RenderTag = %q", got)
				}
				if got := c.RenderTag(1234567890123, "webmasters", ""); len([]rune(got)) > 16 {
					t.Errorf("RenderTag = %q: over 16 characters", got)
				}
			case "personal links":
				if !c.PersonalLinks {
					t.Error("personal_links not set")
				}
			case "dry run":
				if !c.DryRun {
					t.Error("dry_run not set")
				}
			case "dry run off", "tag with name":
				if c.DryRun {
					t.Error("dry_run set by default")
				}
			case "messages":
				if r.Messages["access_gained"]["ru"] != "Входите: {{.Link}}" {
					t.Errorf("messages = %v", r.Messages)
				}
			}
		})
	}
}
