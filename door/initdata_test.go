package door_test

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/sandbox/world"
)

const token = "4100:AAtesttoken-0123456789abcdefghijklmno"

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// sign makes initData as a Telegram client hands it, signed with tok.
func sign(tok string, fields map[string]string) string {
	f := map[string]string{}
	for k, v := range fields {
		f[k] = v
	}
	f["hash"] = world.SignWebAppData(tok, f)
	v := url.Values{}
	for k, x := range f {
		v.Set(k, x)
	}
	return v.Encode()
}

func fields(at time.Time) map[string]string {
	return map[string]string{
		"user":      `{"id":4242,"first_name":"Ann","username":"ann_tg","language_code":"en","allows_write_to_pm":true}`,
		"auth_date": strconv.FormatInt(at.Unix(), 10),
		"query_id":  "AAHdF6IQAAAAAN0XohDhrOrc",
	}
}

func with(at time.Time, k, v string) map[string]string {
	f := fields(at)
	if v == "" {
		delete(f, k)
	} else {
		f[k] = v
	}
	return f
}

// TestValidator_Validate: initData passes only signed with this bot's
// token, unchanged, fresh and naming a person.
func TestValidator_Validate(t *testing.T) {
	v, err := door.NewValidator(token, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	good := sign(token, fields(now.Add(-time.Minute)))
	tampered := strings.Replace(good, "ann_tg", "eve_tg", 1)
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"good", good, nil},
		{"with a signature field too", sign(token, with(now, "signature", "c2lnbmF0dXJl")), nil},
		{"fresh at the limit", sign(token, fields(now.Add(-time.Hour))), nil},
		{"tampered user", tampered, door.ErrForged},
		{"another bot's token", sign("4101:AAothertoken-0123456789abcdefghijklm", fields(now)), door.ErrForged},
		{"hash of other data", strings.Replace(good, "query_id=AA", "query_id=AB", 1), door.ErrForged},
		{"stale", sign(token, fields(now.Add(-time.Hour-time.Second))), door.ErrStale},
		{"from the future", sign(token, fields(now.Add(2*time.Minute))), door.ErrMalformed},
		{"empty", "", door.ErrMalformed},
		{"no hash", "auth_date=1&user=%7B%7D", door.ErrMalformed},
		{"short hash", "auth_date=1&hash=abcd", door.ErrMalformed},
		{"hash twice", good + "&hash=" + strings.Repeat("0", 64), door.ErrMalformed},
		{"field twice", good + "&user=x", door.ErrMalformed},
		{"bad escape", "hash=%zz", door.ErrMalformed},
		{"oversized", strings.Repeat("a", door.MaxInitData+1), door.ErrMalformed},
		{"no auth_date", sign(token, with(now, "auth_date", "")), door.ErrMalformed},
		{"auth_date not a number", sign(token, with(now, "auth_date", "yesterday")), door.ErrMalformed},
		{"no user", sign(token, with(now, "user", "")), door.ErrMalformed},
		{"user not JSON", sign(token, with(now, "user", "{")), door.ErrMalformed},
		{"user without id", sign(token, with(now, "user", `{"first_name":"A"}`)), door.ErrMalformed},
		{"a bot", sign(token, with(now, "user", `{"id":5,"is_bot":true,"first_name":"B"}`)), door.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Validate(tt.raw)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Validate: %v, want %v", err, tt.want)
			}
			if tt.want == nil && (got.User.ID != 4242 || got.User.FirstName != "Ann") {
				t.Errorf("user %+v", got.User)
			}
		})
	}
	t.Run("what it reads", func(t *testing.T) {
		got, err := v.Validate(good)
		if err != nil {
			t.Fatal(err)
		}
		want := door.InitData{User: door.User{ID: 4242, FirstName: "Ann", Username: "ann_tg", LanguageCode: "en"}, AuthDate: now.Add(-time.Minute), QueryID: "AAHdF6IQAAAAAN0XohDhrOrc"}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	if _, err := door.NewValidator("", 0, nil); err == nil {
		t.Error("a validator without a token")
	}
}

func BenchmarkValidator_Validate(b *testing.B) {
	v, _ := door.NewValidator(token, time.Hour, func() time.Time { return now })
	raw := sign(token, fields(now))
	for b.Loop() {
		if _, err := v.Validate(raw); err != nil {
			b.Fatal(err)
		}
	}
}
