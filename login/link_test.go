package login

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestCheckLink(t *testing.T) {
	secret := []byte("a-link-secret-of-thirty-two-characters!!")
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(10 * time.Minute).Unix()
	good := func() url.Values {
		return url.Values{"member": {"alice"}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {Sign(secret, "alice", exp)}}
	}
	tests := []struct {
		name string
		edit func(url.Values)
		want error
	}{
		{name: "good"},
		{name: "upper-case hex", edit: func(q url.Values) { q.Set("sig", upper(q.Get("sig"))) }},
		{name: "another member", edit: func(q url.Values) { q.Set("member", "bob") }, want: errLinkForged},
		{name: "another exp", edit: func(q url.Values) { q.Set("exp", strconv.FormatInt(exp+1, 10)) }, want: errLinkForged},
		{name: "another secret", edit: func(q url.Values) { q.Set("sig", Sign([]byte("other"), "alice", exp)) }, want: errLinkForged},
		{name: "exp with a leading zero", edit: func(q url.Values) { q.Set("exp", "0"+q.Get("exp")) }, want: errLinkMalformed},
		{name: "no sig", edit: func(q url.Values) { q.Del("sig") }, want: errLinkMalformed},
		{name: "short sig", edit: func(q url.Values) { q.Set("sig", q.Get("sig")[:62]) }, want: errLinkMalformed},
		{name: "repeated member", edit: func(q url.Values) { q.Add("member", "alice") }, want: errLinkMalformed},
		{name: "unknown parameter", edit: func(q url.Values) { q.Set("utm_source", "x") }, want: errLinkMalformed},
		{name: "bad member id", edit: func(q url.Values) { q.Set("member", "a/b") }, want: errLinkMalformed},
		{name: "expired", edit: func(q url.Values) {
			e := now.Add(-time.Second).Unix()
			q.Set("exp", strconv.FormatInt(e, 10))
			q.Set("sig", Sign(secret, "alice", e))
		}, want: errLinkExpired},
		{name: "too far ahead", edit: func(q url.Values) {
			e := now.Add(time.Hour).Unix()
			q.Set("exp", strconv.FormatInt(e, 10))
			q.Set("sig", Sign(secret, "alice", e))
		}, want: errLinkTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := good()
			if tt.edit != nil {
				tt.edit(q)
			}
			member, err := checkLink(secret, q, now, 15*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err == nil && member != "alice" {
				t.Errorf("member %q", member)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
