package callback_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/callback"
)

// TestVerify_PHP checks the README's PHP verification against Sign, when a
// php binary is installed.
func TestVerify_PHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("no php binary (apt-get install php-cli)")
	}
	now := time.Unix(1764064800, 0)
	body := `{"id":"e1","type":"member.joined","member":"alice","chat_title":"Ünïcode"}`
	sig := callback.Sign(secret, now.Unix(), []byte(body))
	tests := []struct {
		name string
		body string
		sig  string
		now  time.Time
		want string
	}{
		{"signed by karmagate", body, sig, now, "ok"},
		{"body changed", strings.Replace(body, "joined", "left", 1), sig, now, "refused"},
		{"replayed an hour later", body, sig, now.Add(time.Hour), "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(php, "testdata/verify.php", string(secret), strconv.FormatInt(now.Unix(), 10), tt.sig, strconv.FormatInt(tt.now.Unix(), 10))
			cmd.Stdin = strings.NewReader(tt.body)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("php: %v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("php says %q, want %q", got, tt.want)
			}
		})
	}
}
