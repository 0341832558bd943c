package linking_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
)

const botToken = "123456:AAE-sandbox-bot-token"

// sign returns fields with the hash Telegram would add, computed here
// independently of the package.
func sign(fields map[string]string, token string) map[string]string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		lines = append(lines, k+"="+fields[k])
	}
	key := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(strings.Join(lines, "\n")))
	out := maps.Clone(fields)
	out["hash"] = hex.EncodeToString(m.Sum(nil))
	return out
}

// payload is a widget login by user 4101 at the given time.
func payload(at time.Time) map[string]string {
	return map[string]string{
		"id": "4101", "first_name": "Alice", "last_name": "Liddell", "username": "alice_tg",
		"photo_url": "https://t.me/i/userpic/320/alice.jpg", "auth_date": strconv.FormatInt(at.Unix(), 10),
	}
}

// merged re-splits a signed payload: photo_url swallows the username line,
// so the data-check-string, and the signature, stay the same.
func merged(signed map[string]string) map[string]string {
	out := with(signed, "username", "-")
	out["photo_url"] += "\nusername=" + signed["username"]
	return out
}

// with returns a copy of m with k set to v, or removed when v is "-".
func with(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if v == "-" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestVerifyWidget(t *testing.T) {
	good := sign(payload(t0), botToken)
	tests := []struct {
		name   string
		fields map[string]string
		now    time.Time
		maxAge time.Duration
		want   error
	}{
		{name: "good", fields: good, now: t0.Add(time.Hour)},
		{name: "only the required fields", fields: sign(map[string]string{"id": "7", "auth_date": strconv.FormatInt(t0.Unix(), 10)}, botToken), now: t0},
		{name: "upper-case hash", fields: with(good, "hash", strings.ToUpper(good["hash"])), now: t0},
		{name: "a day old exactly", fields: good, now: t0.Add(24 * time.Hour)},
		{name: "clock a minute behind", fields: good, now: t0.Add(-time.Minute)},
		{name: "largest id", fields: sign(with(payload(t0), "id", "9223372036854775807"), botToken), now: t0},
		{name: "a field changed", fields: with(good, "id", "666"), now: t0, want: linking.ErrWidgetForged},
		{name: "a name changed", fields: with(good, "username", "mallory"), now: t0, want: linking.ErrWidgetForged},
		{name: "a field added", fields: with(good, "last_name2", "x"), now: t0, want: linking.ErrWidgetForged},
		{name: "an empty field added", fields: with(good, "language", ""), now: t0, want: linking.ErrWidgetForged},
		{name: "a field removed", fields: with(good, "photo_url", "-"), now: t0, want: linking.ErrWidgetForged},
		{name: "signed by another bot", fields: sign(payload(t0), "999:other"), now: t0, want: linking.ErrWidgetForged},
		{name: "older than a day", fields: good, now: t0.Add(24*time.Hour + time.Second), want: linking.ErrWidgetStale},
		{name: "older than max age", fields: good, now: t0.Add(2 * time.Hour), maxAge: time.Hour, want: linking.ErrWidgetStale},
		{name: "from the future", fields: good, now: t0.Add(-time.Minute - time.Second), want: linking.ErrWidgetStale},
		{name: "forged and stale says forged", fields: with(good, "first_name", "Eve"), now: t0.Add(48 * time.Hour), want: linking.ErrWidgetForged},
		{name: "no hash", fields: with(good, "hash", "-"), now: t0, want: linking.ErrWidgetMalformed},
		{name: "short hash", fields: with(good, "hash", good["hash"][:62]), now: t0, want: linking.ErrWidgetMalformed},
		{name: "hash not hex", fields: with(good, "hash", strings.Repeat("zz", 32)), now: t0, want: linking.ErrWidgetMalformed},
		{name: "no id", fields: sign(with(payload(t0), "id", "-"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "no auth_date", fields: sign(with(payload(t0), "auth_date", "-"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "id not a number", fields: sign(with(payload(t0), "id", "alice"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "id negative", fields: sign(with(payload(t0), "id", "-5"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "id beyond int64", fields: sign(with(payload(t0), "id", "9223372036854775808"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "auth_date not a number", fields: sign(with(payload(t0), "auth_date", "yesterday"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "auth_date a float", fields: sign(with(payload(t0), "auth_date", "1795600000.5"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "newline merges two signed fields into one", fields: merged(good), now: t0, want: linking.ErrWidgetMalformed},
		{name: "newline in a value", fields: sign(with(payload(t0), "last_name", "x\ny"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "key with '='", fields: sign(with(payload(t0), "a=b", "c"), botToken), now: t0, want: linking.ErrWidgetMalformed},
		{name: "empty key", fields: sign(with(payload(t0), "", "c"), botToken), now: t0, want: linking.ErrWidgetMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := linking.VerifyWidget(tt.fields, botToken, tt.now, tt.maxAge)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || u != (linking.WidgetUser{}) {
					t.Fatalf("VerifyWidget = %+v, %v; want %v", u, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyWidget: %v", err)
			}
			id, err := strconv.ParseInt(tt.fields["id"], 10, 64)
			if err != nil {
				t.Fatalf("test payload id: %v", err)
			}
			want := linking.WidgetUser{ID: id, FirstName: tt.fields["first_name"], LastName: tt.fields["last_name"],
				Username: tt.fields["username"], PhotoURL: tt.fields["photo_url"], AuthDate: t0}
			if u != want {
				t.Errorf("VerifyWidget = %+v; want %+v", u, want)
			}
		})
	}
	t.Run("no bot token", func(t *testing.T) {
		if _, err := linking.VerifyWidget(good, "", t0, 0); err == nil || linking.CodeOf(err) != "" {
			t.Fatalf("VerifyWidget = %v; want an uncoded configuration error", err)
		}
	})
}

func TestNewWidget(t *testing.T) {
	replay := &linking.MemWidgetReplayStore{}
	tests := []struct {
		name    string
		opts    linking.WidgetOptions
		wantErr string
	}{
		{"defaults", linking.WidgetOptions{BotToken: botToken, Replay: replay}, ""},
		{"no bot token", linking.WidgetOptions{Replay: replay}, "no bot token"},
		{"no replay store", linking.WidgetOptions{BotToken: botToken}, "no replay store"},
		{"negative max age", linking.WidgetOptions{BotToken: botToken, Replay: replay, MaxAge: -time.Hour}, "negative max age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := linking.NewWidget(tt.opts)
			if tt.wantErr == "" {
				if err != nil || w == nil {
					t.Fatalf("NewWidget = %v, %v; want a widget", w, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewWidget error = %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWidget_Verify(t *testing.T) {
	ctx := context.Background()
	newWidget := func(t *testing.T, clk *clock) (*linking.Widget, *linking.MemWidgetReplayStore) {
		t.Helper()
		replay := &linking.MemWidgetReplayStore{Now: clk.Now}
		w, err := linking.NewWidget(linking.WidgetOptions{BotToken: botToken, Replay: replay, Now: clk.Now})
		if err != nil {
			t.Fatalf("NewWidget: %v", err)
		}
		return w, replay
	}
	good := sign(payload(t0), botToken)

	t.Run("good then replayed", func(t *testing.T) {
		clk := newClock()
		w, _ := newWidget(t, clk)
		u, err := w.Verify(ctx, good)
		if err != nil || u.ID != 4101 {
			t.Fatalf("first Verify = %+v, %v; want user 4101", u, err)
		}
		clk.Advance(time.Hour)
		if _, err := w.Verify(ctx, good); !errors.Is(err, linking.ErrWidgetReplayed) {
			t.Fatalf("second Verify = %v; want ErrWidgetReplayed", err)
		}
	})
	t.Run("replayed with an upper-case hash", func(t *testing.T) {
		w, _ := newWidget(t, newClock())
		if _, err := w.Verify(ctx, good); err != nil {
			t.Fatalf("first Verify: %v", err)
		}
		if _, err := w.Verify(ctx, with(good, "hash", strings.ToUpper(good["hash"]))); !errors.Is(err, linking.ErrWidgetReplayed) {
			t.Fatalf("second Verify = %v; want ErrWidgetReplayed", err)
		}
	})
	t.Run("refused payloads are not remembered", func(t *testing.T) {
		clk := newClock()
		w, replay := newWidget(t, clk)
		for _, f := range []map[string]string{with(good, "id", "5"), with(good, "hash", "-")} {
			if _, err := w.Verify(ctx, f); err == nil {
				t.Fatalf("Verify(%v) accepted a bad payload", f)
			}
		}
		clk.Advance(25 * time.Hour)
		if _, err := w.Verify(ctx, good); !errors.Is(err, linking.ErrWidgetStale) {
			t.Fatalf("Verify stale = %v; want ErrWidgetStale", err)
		}
		if replay.Len() != 0 {
			t.Errorf("replay store holds %d payloads; want 0", replay.Len())
		}
	})
	t.Run("two logins by one user", func(t *testing.T) {
		clk := newClock()
		w, _ := newWidget(t, clk)
		if _, err := w.Verify(ctx, good); err != nil {
			t.Fatalf("first Verify: %v", err)
		}
		clk.Advance(time.Minute)
		if _, err := w.Verify(ctx, sign(payload(clk.Now()), botToken)); err != nil {
			t.Fatalf("second login Verify: %v", err)
		}
	})
	t.Run("replay store fails", func(t *testing.T) {
		w, err := linking.NewWidget(linking.WidgetOptions{BotToken: botToken, Now: newClock().Now,
			Replay: replayFunc(func() (bool, error) { return false, errDisk })})
		if err != nil {
			t.Fatalf("NewWidget: %v", err)
		}
		if _, err := w.Verify(ctx, good); !errors.Is(err, errDisk) {
			t.Fatalf("Verify = %v; want the store's error", err)
		}
	})
}

type replayFunc func() (bool, error)

func (f replayFunc) MarkWidgetUsed(context.Context, string, time.Time) (bool, error) { return f() }

func TestWidgetFieldsFromJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
		err  bool
	}{
		{"widget callback", `{"id": 9007199254740993, "first_name": "Alice", "auth_date": 1795600000, "hash": "ab", "last_name": null}`,
			map[string]string{"id": "9007199254740993", "first_name": "Alice", "auth_date": "1795600000", "hash": "ab"}, false},
		{"strings", `{"id": "42", "auth_date": "1"}`, map[string]string{"id": "42", "auth_date": "1"}, false},
		{"nested object", `{"id": {"x": 1}}`, nil, true},
		{"array", `[1]`, nil, true},
		{"bool", `{"id": true}`, nil, true},
		{"two values", `{"id": 1} {"id": 2}`, nil, true},
		{"not JSON", `id=1`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := linking.WidgetFieldsFromJSON([]byte(tt.in))
			if tt.err {
				if !errors.Is(err, linking.ErrWidgetMalformed) {
					t.Fatalf("WidgetFieldsFromJSON = %v, %v; want ErrWidgetMalformed", got, err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("WidgetFieldsFromJSON = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestWidgetFieldsFromForm(t *testing.T) {
	got, err := linking.WidgetFieldsFromForm(url.Values{"id": {"1"}, "hash": {"ab"}})
	if want := map[string]string{"id": "1", "hash": "ab"}; err != nil || !maps.Equal(got, want) {
		t.Fatalf("WidgetFieldsFromForm = %v, %v; want %v", got, err, want)
	}
	if got, err := linking.WidgetFieldsFromForm(url.Values{"id": {"1", "2"}}); !errors.Is(err, linking.ErrWidgetMalformed) {
		t.Fatalf("WidgetFieldsFromForm(twice) = %v, %v; want ErrWidgetMalformed", got, err)
	}
}

func TestMemWidgetReplayStore_MarkWidgetUsed(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := &linking.MemWidgetReplayStore{Now: clk.Now}
	for i := range 100 {
		fresh, err := s.MarkWidgetUsed(ctx, strconv.Itoa(i), t0.Add(time.Hour))
		if err != nil || !fresh {
			t.Fatalf("MarkWidgetUsed(%d) = %v, %v; want fresh", i, fresh, err)
		}
	}
	if fresh, err := s.MarkWidgetUsed(ctx, "7", t0.Add(time.Hour)); err != nil || fresh {
		t.Fatalf("MarkWidgetUsed(7 again) = %v, %v; want not fresh", fresh, err)
	}
	clk.Advance(2 * time.Hour)
	for i := 100; i < 300; i++ {
		if _, err := s.MarkWidgetUsed(ctx, strconv.Itoa(i), clk.Now().Add(time.Hour)); err != nil {
			t.Fatalf("MarkWidgetUsed(%d): %v", i, err)
		}
	}
	if n := s.Len(); n > 200 {
		t.Errorf("store holds %d payloads after the first 100 expired; want at most 200", n)
	}
}
