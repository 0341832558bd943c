package main

import (
	"strings"
	"testing"
)

// TestConfigFromEnv_ProfileURL: KARMAGATE_PROFILE_URL is optional, an
// https:// URL (plain http only to a local host), without credentials.
func TestConfigFromEnv_ProfileURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: ""},
		{in: "https://example.org/profile", want: "https://example.org/profile"},
		{in: "http://localhost:8000/me", want: "http://localhost:8000/me"},
		{in: "http://example.org/me", err: "plain http is only for a loopback"},
		{in: "example.org/me", err: "must be an https:// URL"},
		{in: "ftp://example.org/me", err: "must be an https:// URL"},
		{in: "https://u:p@example.org/me", err: "no user:password@"},
		{in: "https://example.org/" + strings.Repeat("a", 600), err: "at most 512"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ConfigFromEnv(mapEnv("KARMAGATE_PROFILE_URL", tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil && strings.Contains(err.Error(), "KARMAGATE_PROFILE_URL") {
				t.Fatal(err)
			}
			if c.ProfileURL != tt.want {
				t.Errorf("ProfileURL = %q, want %q", c.ProfileURL, tt.want)
			}
		})
	}
}
