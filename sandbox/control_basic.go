package sandbox

import (
	"net/http"
	"strconv"

	"github.com/karmagate/karmagate/sandbox/world"
)

// CreateBasicGroup is a person creating a basic group by hand (Bot API id
// -<id>, type "group").
func (s *Sandbox) CreateBasicGroup(creatorID int64, title string) (world.Chat, error) {
	return s.world.CreateBasicGroup(creatorID, title)
}

// UpgradeGroup has Telegram upgrade the basic group chatID to a
// supergroup: the old id then answers 400 "group chat was upgraded to a
// supergroup chat" with migrate_to_chat_id, and the bots in it get the
// migrate_to_chat_id and migrate_from_chat_id service messages.
func (s *Sandbox) UpgradeGroup(chatID int64) (world.Chat, error) {
	return s.world.UpgradeGroup(chatID)
}

// handleUpgrade: POST /sandbox/chats/{chat_id}/upgrade.
func (s *Sandbox) handleUpgrade(r *http.Request, _ map[string]string) (int, any, error) {
	id, err := parseID("chat_id", r.PathValue("chat_id"))
	if err != nil {
		return fail(err)
	}
	c, err := s.UpgradeGroup(id)
	if err != nil {
		return fail(err)
	}
	return answer(map[string]any{"migrate_from_chat_id": id, "migrate_to_chat_id": c.BotAPIID(), "chat": toChatJSON(c)})
}

// boolField reads an optional true/false field.
func boolField(in map[string]string, name string) (bool, error) {
	v := in[name]
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badInput("%s must be true or false", name)
	}
	return b, nil
}
