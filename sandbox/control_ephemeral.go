package sandbox

import (
	"net/http"
	"strings"
)

// The control calls of ephemeral messages (Bot API 10.2; world/ephemeral.go):
// a group's history as one member sees it, and a chat's admins allowing
// or not bots' ephemeral messages there.

// handleChatMessages is GET /sandbox/chats/{chat_id}/messages[?as=USER_ID]:
// the group's messages as that member sees them (the ephemeral ones sent
// to them included); without as, what every member sees.
func (s *Sandbox) handleChatMessages(r *http.Request, in map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
	}
	var viewer int64
	if v := strings.TrimSpace(in["as"]); v != "" {
		if viewer, err = parseID("as", v); err != nil {
			return fail(err)
		}
		if _, ok := s.world.User(viewer); !ok {
			return fail(notFound("no user %d", viewer))
		}
	}
	ms, err := s.world.ChatMessages(c.BotAPIID(), viewer)
	if err != nil {
		return fail(err)
	}
	out := []messageJSON{}
	for _, m := range ms {
		out = append(out, toMessageJSON(m, viewer))
	}
	return answer(out)
}

// handleEphemeral is POST /sandbox/chats/{chat_id}/ephemeral
// {"allowed": false}: the chat's admins turn bots' ephemeral messages off
// (or on again); sending one then answers 400 "ephemeral messages are not
// allowed in the chat".
func (s *Sandbox) handleEphemeral(r *http.Request, in map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
	}
	var allowed bool
	switch strings.ToLower(strings.TrimSpace(in["allowed"])) {
	case "true", "1":
		allowed = true
	case "false", "0":
	default:
		return fail(badInput("allowed: want true or false"))
	}
	if err := s.world.SetEphemeralAllowed(c.BotAPIID(), allowed); err != nil {
		return fail(err)
	}
	return answer(map[string]any{"chat_id": c.BotAPIID(), "allowed": allowed})
}
