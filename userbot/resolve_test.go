package userbot_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/userbot"
)

// TestPool_ResolvePhoneLimits: phone lookups by contact import are off unless
// turned on; on, each account stays within its daily budget, and a phone
// Telegram puts in retry_contacts is "limited, retry later" (another
// account tries it first), never "unresolved".
func TestPool_ResolvePhoneLimits(t *testing.T) {
	ctx := context.Background()
	noWaits := map[string]time.Duration{}
	t.Run("off by default", func(t *testing.T) {
		h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: noWaits}})
		alice := h.person("alice", "", world.PrivacyEverybody)
		h.login(alice, "")
		h.waitReady(1)
		target := h.person("target", "", world.PrivacyEverybody)
		if _, err := h.pool.ResolvePhone(ctx, target.Phone); !errors.Is(err, userbot.ErrPhoneImportOff) {
			t.Fatalf("got %v, want ErrPhoneImportOff", err)
		}
		if n := len(h.calls("contacts.importContacts", alice.ID)); n != 0 {
			t.Fatalf("%d contacts.importContacts calls with imports off", n)
		}
	})
	for _, tt := range []struct {
		name     string
		quota    int // the sandbox's imports per account per day (Telegram's limit)
		budget   int // karmagate's
		accounts int
		want     []linking.ResolveStatus // one lookup each, of a different person
	}{
		{"within the budget", 50, 3, 1, []linking.ResolveStatus{linking.Resolved, linking.Resolved, linking.Unresolved}},
		{"budget spent", 50, 2, 1, []linking.ResolveStatus{linking.Resolved, linking.Resolved, linking.Limited}},
		{"retry_contacts", 1, 10, 1, []linking.ResolveStatus{linking.Resolved, linking.Limited, linking.Limited}},
		{"retry_contacts, another account", 1, 10, 2, []linking.ResolveStatus{linking.Resolved, linking.Resolved, linking.Limited}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{noBot: true, phoneImport: true, importsPerDay: tt.budget,
				limits: world.Limits{FloodWait: noWaits, ContactImportsPerDay: tt.quota}})
			for i := range tt.accounts {
				h.login(h.person("acct"+string(rune('a'+i)), "", world.PrivacyEverybody), "")
			}
			h.waitReady(tt.accounts)
			for i, want := range tt.want {
				privacy := world.PrivacyEverybody
				if want == linking.Unresolved {
					privacy = world.PrivacyNobody // hidden from phone lookups
				}
				target := h.person("target"+string(rune('a'+i)), "", privacy)
				res, err := h.pool.ResolvePhone(ctx, target.Phone)
				if err != nil {
					t.Fatalf("lookup %d: %v", i, err)
				}
				if res.Status != want || (want == linking.Resolved && res.UserID != target.ID) || (want == linking.Limited && res.RetryAfter <= 0) {
					t.Fatalf("lookup %d: %+v, want %s", i, res, want)
				}
			}
		})
	}
}
