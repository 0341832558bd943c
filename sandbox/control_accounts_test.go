package sandbox_test

import (
	"testing"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
)

// TestSandbox_ControlAccounts: the control calls that make Telegram's
// account troubles happen on demand, each checked in the world or the
// MTProto server behind it.
func TestSandbox_ControlAccounts(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 4})
	var u struct {
		ID         int64 `json:"id"`
		DC         int   `json:"dc"`
		Restricted bool  `json:"restricted"`
	}
	if code := control(t, sb, "POST", "/sandbox/users", map[string]any{"first_name": "Dora", "phone": "+15550004", "dc": 4}, &u); code != 201 || u.DC != 4 {
		t.Fatalf("create on DC 4: %d %+v", code, u)
	}
	var bad map[string]any
	if code := control(t, sb, "POST", "/sandbox/users", map[string]any{"first_name": "X", "dc": 9}, &bad); code != 400 || bad["rpc"] != "DC_ID_INVALID" {
		t.Errorf("DC 9: %d %v", code, bad)
	}
	for _, tt := range []struct {
		name, path string
		body       map[string]any
		status     int
		check      func() bool
	}{
		{"restrict", "/sandbox/users/" + itoa(u.ID) + "/restrict", map[string]any{}, 200, func() bool {
			got, _ := sb.World().User(u.ID)
			return got.Restricted
		}},
		{"lift", "/sandbox/users/" + itoa(u.ID) + "/restrict", map[string]any{"restricted": false}, 200, func() bool {
			got, _ := sb.World().User(u.ID)
			return !got.Restricted
		}},
		{"ban_account", "/sandbox/users/" + itoa(u.ID) + "/ban_account", map[string]any{}, 200, func() bool {
			got, _ := sb.World().User(u.ID)
			return got.Banned
		}},
		{"send_code", "/sandbox/users/" + itoa(u.ID) + "/send_code", map[string]any{"answer": string(mtproto.SendCodeFlood)}, 200, nil},
		{"send_code unknown", "/sandbox/users/" + itoa(u.ID) + "/send_code", map[string]any{"answer": "sms"}, 400, nil},
		{"scan a bad code", "/sandbox/users/" + itoa(u.ID) + "/scan", map[string]any{"url": "tg://login?token=AAAA"}, 400, nil},
		{"bot groups off", "/sandbox/bot/groups", map[string]any{"allowed": false}, 200, func() bool {
			got, _ := sb.World().User(sb.Bot().ID)
			return got.GroupsBlocked
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code := control(t, sb, "POST", tt.path, tt.body, nil); code != tt.status {
				t.Fatalf("%s: %d, want %d", tt.path, code, tt.status)
			}
			if tt.check != nil && !tt.check() {
				t.Fatal("the world did not change")
			}
		})
	}
}
