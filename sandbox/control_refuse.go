package sandbox

import (
	"net/http"
	"strconv"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Refuse arms a refusal: the next calls of r.Method (about r.UserID and
// r.ChatID, when set) answer Telegram's refusal r.Error.
func (s *Sandbox) Refuse(r world.Refusal) error { return s.world.Refuse(r) }

// handleRefuse: POST /sandbox/refusals {"method", "error", "user_id",
// "chat_id", "times"}.
func (s *Sandbox) handleRefuse(_ *http.Request, in map[string]string) (int, any, error) {
	r := world.Refusal{Method: in["method"], Error: in["error"], Times: 1}
	var err error
	if v := in["user_id"]; v != "" {
		if r.UserID, err = parseID("user_id", v); err != nil {
			return fail(err)
		}
	}
	if v := in["chat_id"]; v != "" {
		if r.ChatID, err = parseID("chat_id", v); err != nil {
			return fail(err)
		}
	}
	if v := in["times"]; v != "" {
		if r.Times, err = strconv.Atoi(v); err != nil || r.Times < 1 {
			return fail(badInput("times must be a positive integer"))
		}
	}
	if err := s.Refuse(r); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"method": r.Method, "error": r.Error, "times": r.Times})
}
