package doctor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/doctor"
)

type fakeBot struct {
	me      doctor.Me
	meErr   error
	date    time.Time
	webhook doctor.WebhookInfo
	rights  map[int64]doctor.Rights
}

func (f *fakeBot) GetMe(context.Context) (doctor.Me, time.Time, error) { return f.me, f.date, f.meErr }
func (f *fakeBot) WebhookInfo(context.Context) (doctor.WebhookInfo, error) {
	return f.webhook, nil
}
func (f *fakeBot) Rights(_ context.Context, chat, _ int64) (doctor.Rights, error) {
	r, ok := f.rights[chat]
	if !ok {
		return r, errors.New("400 Bad Request: chat not found")
	}
	return r, nil
}

type fakeStore struct {
	schemaErr error
	chats     []doctor.Chat
	userbots  []doctor.Userbot
}

func (f *fakeStore) CheckSchema(context.Context) error { return f.schemaErr }
func (f *fakeStore) Chats(context.Context) ([]doctor.Chat, error) {
	return f.chats, nil
}
func (f *fakeStore) Userbots(context.Context) ([]doctor.Userbot, error) {
	return f.userbots, nil
}

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func healthy() (*fakeBot, *fakeStore) {
	admin := doctor.Rights{Status: "administrator", CanInviteUsers: true, CanRestrictMembers: true, CanManageTags: true}
	return &fakeBot{me: doctor.Me{ID: 7, Username: "gate_bot"}, date: now, rights: map[int64]doctor.Rights{-1001: admin}},
		&fakeStore{chats: []doctor.Chat{{Key: "pro", Title: "Pro", TgChatID: -1001, Tags: true}},
			userbots: []doctor.Userbot{{ID: 1, Phone: "+31611110001", State: "ready", Channels: 1, ChannelCap: 500}}}
}

func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*fakeBot, *fakeStore, *doctor.Options)
		red    string // "" when ready
		warn   string
	}{
		{name: "healthy"},
		{name: "token refused", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) {
			b.meErr = fmt.Errorf("%w: Unauthorized", doctor.ErrTokenRefused)
		}, red: "bot token"},
		{name: "Bot API unreachable", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { b.meErr = errors.New("dial tcp: refused") }, red: "cannot be reached"},
		{name: "not admin", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { b.rights[-1001] = doctor.Rights{Status: "member"} }, red: "not an administrator"},
		{name: "bot left", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { b.rights[-1001] = doctor.Rights{Status: "left"} }, red: "not in the group"},
		{name: "no invite right", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) {
			b.rights[-1001] = doctor.Rights{Status: "administrator", CanRestrictMembers: true, CanManageTags: true}
		}, red: "without Invite users"},
		{name: "tags not used", change: func(b *fakeBot, s *fakeStore, _ *doctor.Options) {
			b.rights[-1001] = doctor.Rights{Status: "administrator", CanInviteUsers: true, CanRestrictMembers: true}
			s.chats[0].Tags = false
		}},
		{name: "chat gone", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { delete(b.rights, -1001) }, red: "chat not found"},
		{name: "database", change: func(_ *fakeBot, s *fakeStore, _ *doctor.Options) {
			s.schemaErr = errors.New("dial tcp 127.0.0.1:3306: refused")
		}, red: "database"},
		{name: "userbot unauthorized", change: func(_ *fakeBot, s *fakeStore, _ *doctor.Options) { s.userbots[0].State = "unauthorized" }, red: "ended its session"},
		{name: "userbot restricted", change: func(_ *fakeBot, s *fakeStore, _ *doctor.Options) { s.userbots[0].State = "restricted" }, red: "@SpamBot"},
		{name: "userbot login unfinished", change: func(_ *fakeBot, s *fakeStore, _ *doctor.Options) { s.userbots[0].State = "code_sent" }, warn: "login not finished"},
		{name: "clock far off", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { b.date = now.Add(-2 * time.Minute) }, red: "clock"},
		{name: "clock a little off", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { b.date = now.Add(-5 * time.Second) }, warn: "5s off"},
		{name: "privacy off", change: func(b *fakeBot, _ *fakeStore, _ *doctor.Options) { b.me.CanReadAllGroupMessages = true }, warn: "/setprivacy"},
		{name: "webhook elsewhere", change: func(b *fakeBot, _ *fakeStore, o *doctor.Options) {
			o.WebhookURL = "http://gate.example/telegram/webhook" // http: TLS fails too
			b.webhook = doctor.WebhookInfo{URL: "https://other.example/hook"}
		}, red: "Telegram delivers to https://other.example/hook"},
		{name: "webhook failing", change: func(b *fakeBot, _ *fakeStore, o *doctor.Options) {
			o.WebhookURL = "http://gate.example/telegram/webhook"
			b.webhook = doctor.WebhookInfo{URL: o.WebhookURL, LastErrorDate: now.Add(-time.Minute), LastErrorMessage: "Connection refused"}
		}, red: "Connection refused"},
		{name: "config invalid", change: func(_ *fakeBot, _ *fakeStore, o *doctor.Options) { o.Config = errors.New("set KARMAGATE_API_KEY") }, red: "KARMAGATE_API_KEY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bot, store := healthy()
			opts := doctor.Options{Bot: bot, Store: store, Userbots: true, Now: func() time.Time { return now }}
			if tt.change != nil {
				tt.change(bot, store, &opts)
			}
			rep := doctor.Run(context.Background(), opts)
			var buf bytes.Buffer
			if err := rep.Write(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			var red []string
			for _, r := range rep {
				if r.Status == doctor.Fail {
					red = append(red, r.Name+": "+r.Detail+" → "+r.Fix)
					if r.Fix == "" {
						t.Errorf("%s failed without a fix", r.Name)
					}
				}
			}
			switch {
			case tt.red == "" && (!rep.Ready() || len(red) > 0):
				t.Fatalf("not ready: %q\n%s", red, out)
			case tt.red != "" && (rep.Ready() || !strings.Contains(strings.Join(red, "\n"), tt.red)):
				t.Fatalf("want a failure with %q, got %q\n%s", tt.red, red, out)
			case tt.red != "" && len(red) != 1 && !strings.HasPrefix(tt.name, "webhook"):
				t.Fatalf("want one failure, got %q\n%s", red, out)
			}
			if tt.warn != "" && !strings.Contains(out, tt.warn) {
				t.Fatalf("want a warning with %q\n%s", tt.warn, out)
			}
		})
	}
}
