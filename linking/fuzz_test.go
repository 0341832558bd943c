package linking_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
)

// FuzzParseToken feeds Check arbitrary start parameters: it must never
// panic, must answer nil, ErrMalformed or ErrForged, and must accept only a
// string that is, character for character, the encoding of 16 bytes and
// their MAC as computed here independently.
func FuzzParseToken(f *testing.F) {
	tk, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: &linking.MemTokenStore{}})
	if err != nil {
		f.Fatalf("NewTokens: %v", err)
	}
	macKey, err := hkdf.Key(sha256.New, secret, nil, "karmagate link token mac v1", 32)
	if err != nil {
		f.Fatalf("hkdf: %v", err)
	}
	good := mustIssue(f, tk, "alice", linking.TelegramUser{})
	for _, s := range []string{good, flip(good, 0), flip(good, 31), good[:31], good + "=", "", "hello", strings.Repeat("A", 32), strings.Repeat("_", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := tk.Check(s)
		if err != nil {
			if !errors.Is(err, linking.ErrMalformed) && !errors.Is(err, linking.ErrForged) {
				t.Fatalf("Check(%q) = %v; want nil, ErrMalformed or ErrForged", s, err)
			}
			return
		}
		raw, derr := base64.RawURLEncoding.DecodeString(s)
		if derr != nil || len(raw) != 24 {
			t.Fatalf("Check accepted %q, which is not 24 bytes of base64url", s)
		}
		m := hmac.New(sha256.New, macKey)
		m.Write(raw[:16])
		if !bytes.Equal(raw[16:], m.Sum(nil)[:8]) || base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("Check accepted %q, which the MAC does not vouch for", s)
		}
	})
}

// FuzzVerifyWidget feeds VerifyWidget arbitrary form-encoded payloads,
// signed or not: it must never panic, must answer with a widget error, and
// must accept only fields whose hash is the HMAC of their data-check-string
// and whose id and auth_date are sane.
func FuzzVerifyWidget(f *testing.F) {
	form := func(m map[string]string) string {
		v := url.Values{}
		for k, s := range m {
			v.Set(k, s)
		}
		return v.Encode()
	}
	good := sign(payload(t0), botToken)
	f.Add(form(good), false)
	f.Add(form(with(good, "id", "5")), false)
	f.Add(form(payload(t0)), true)
	f.Add(form(merged(good)), false)
	f.Add("id=1&auth_date=1795600000&hash=00", false)
	f.Add("id=1&id=2", true)
	f.Fuzz(func(t *testing.T, query string, signIt bool) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		fields, err := linking.WidgetFieldsFromForm(v)
		if err != nil {
			if !errors.Is(err, linking.ErrWidgetMalformed) {
				t.Fatalf("WidgetFieldsFromForm = %v; want ErrWidgetMalformed", err)
			}
			return
		}
		if signIt {
			delete(fields, "hash")
			fields = sign(fields, botToken)
		}
		u, err := linking.VerifyWidget(fields, botToken, t0, 0)
		if err != nil {
			switch linking.CodeOf(err) {
			case linking.CodeWidgetMalformed, linking.CodeWidgetForged, linking.CodeWidgetStale:
			default:
				t.Fatalf("VerifyWidget = %v; want a widget error", err)
			}
			return
		}
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if k == "hash" {
				continue
			}
			if strings.ContainsAny(k, "=\n") || strings.Contains(fields[k], "\n") {
				t.Fatalf("accepted an ambiguous field %q=%q", k, fields[k])
			}
			lines = append(lines, k+"="+fields[k])
		}
		key := sha256.Sum256([]byte(botToken))
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte(strings.Join(lines, "\n")))
		if want := hex.EncodeToString(m.Sum(nil)); !strings.EqualFold(fields["hash"], want) {
			t.Fatalf("accepted hash %q; the signature is %q", fields["hash"], want)
		}
		if u.ID <= 0 || age(u.AuthDate) > linking.DefaultWidgetMaxAge || age(u.AuthDate) < -linking.WidgetSkew {
			t.Fatalf("accepted user %+v", u)
		}
	})
}

func age(at time.Time) time.Duration { return t0.Sub(at) }

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FuzzNormalizePhone: whatever goes in, what comes out is E.164 (the
// pattern the models package checks) and normalising it again changes
// nothing.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+1 (415) 555-0123", "0044 20 7946 0958", "79161234567", "+", "00", "+0044", "٧٩١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := linking.NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, linking.ErrPhoneInvalid) {
				t.Fatalf("NormalizePhone(%q) = %v; want ErrPhoneInvalid", s, err)
			}
			return
		}
		if !e164.MatchString(n) {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", s, n)
		}
		if again, err := linking.NormalizePhone(n); err != nil || again != n {
			t.Fatalf("NormalizePhone(%q) = %q, %v; want it unchanged", n, again, err)
		}
	})
}
