package main

import (
	"strings"
	"testing"
)

// TestConfig_Door: KARMAGATE_PUBLIC_URL and KARMAGATE_PROFILE_URL are read
// and checked; the Mini App's URL falls back to the webhook's host.
func TestConfig_Door(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		doorURL string
		problem string
	}{
		{"neither", nil, "", ""},
		{"public url", []string{"KARMAGATE_PUBLIC_URL", "https://gate.example.org/"}, "https://gate.example.org/app/join", ""},
		{"public url under a path", []string{"KARMAGATE_PUBLIC_URL", "https://example.org/karmagate"}, "https://example.org/karmagate/app/join", ""},
		{"the webhook's host", []string{"KARMAGATE_WEBHOOK_URL", "https://hook.example.org/telegram/webhook"}, "https://hook.example.org/app/join", ""},
		{"public url beats the webhook", []string{"KARMAGATE_WEBHOOK_URL", "https://hook.example.org/tg", "KARMAGATE_PUBLIC_URL", "https://gate.example.org"}, "https://gate.example.org/app/join", ""},
		{"local http", []string{"KARMAGATE_PUBLIC_URL", "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/app/join", ""},
		{"public http", []string{"KARMAGATE_PUBLIC_URL", "http://gate.example.org"}, "", "only over https://"},
		{"not a url", []string{"KARMAGATE_PUBLIC_URL", "gate.example.org"}, "", "must be an https:// URL"},
		{"a query", []string{"KARMAGATE_PUBLIC_URL", "https://gate.example.org/?x=1"}, "", "no query"},
		{"profile", []string{"KARMAGATE_PROFILE_URL", "https://site.example/profile"}, "", ""},
		{"bad profile", []string{"KARMAGATE_PROFILE_URL", "javascript:alert(1)"}, "", "KARMAGATE_PROFILE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(mapEnv(tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			err = c.validateDoor()
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("validateDoor: %v", err)
				}
				if got := c.doorURL(); got != tt.doorURL {
					t.Errorf("doorURL = %q, want %q", got, tt.doorURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("validateDoor = %v, want %q", err, tt.problem)
			}
		})
	}
}
