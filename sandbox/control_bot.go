package sandbox

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/karmagate/karmagate/sandbox/world"
)

// The control API's calls for what grew with the bot: pressing inline
// buttons, answering request_chat buttons, naming a chat's guard bot. Each
// has a Go method on *Sandbox beside it.

// Press is the person pressing the inline button holding data on the
// bot's message messageID in chatID (0: their private chat with the
// default bot; -100… for a group message). The bot gets a callback_query.
func (s *Sandbox) Press(userID, chatID int64, messageID int, data string) (world.CallbackQuery, error) {
	if chatID == 0 {
		chatID = s.bot.ID
	}
	return s.world.PressButton(userID, chatID, messageID, data)
}

// ShareChat is the person answering the default bot's request_chat button
// requestID by picking the supergroup chatID (Bot API id): see
// world.ShareChat.
func (s *Sandbox) ShareChat(userID int64, requestID int32, chatID int64) (world.Message, error) {
	ch, ok := s.world.ChatByBotAPIID(chatID)
	if !ok {
		return world.Message{}, world.ErrChatNotFound
	}
	return s.world.ShareChat(userID, s.bot.ID, requestID, ch.ID)
}

// SetGuardBot has the chat's creator name botID (0: nobody) its guard bot,
// which then answers join-request queries.
func (s *Sandbox) SetGuardBot(chatID, botID int64) error {
	ch, ok := s.world.ChatByBotAPIID(chatID)
	if !ok {
		return world.ErrChatNotFound
	}
	return s.world.SetGuardBot(ch.ID, ch.CreatorID, botID)
}

// handlePress: POST /sandbox/users/{id}/press {"message_id", "data",
// "chat_id"} → {"callback_query_id"}.
func (s *Sandbox) handlePress(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	messageID, err := strconv.Atoi(in["message_id"])
	if err != nil || messageID <= 0 {
		return fail(badInput("message_id (a positive integer) is required"))
	}
	var chatID int64
	if v := in["chat_id"]; v != "" {
		if chatID, err = parseID("chat_id", v); err != nil {
			return fail(err)
		}
	}
	q, err := s.Press(u.ID, chatID, messageID, in["data"])
	if err != nil {
		return fail(err)
	}
	return answer(map[string]any{"callback_query_id": q.ID, "chat_instance": q.ChatInstance})
}

// handleCallbackAnswer: GET /sandbox/callbacks/{query_id} → what the bot
// answered to a press (404 until it answers).
func (s *Sandbox) handleCallbackAnswer(r *http.Request, _ map[string]string) (int, any, error) {
	a, ok := s.world.CallbackAnswer(r.PathValue("query_id"))
	if !ok {
		return fail(notFound("no answer to callback query %s (yet)", r.PathValue("query_id")))
	}
	return answer(a)
}

// handleShareChat: POST /sandbox/users/{id}/share_chat {"request_id",
// "chat_id"} → the chat_shared message the bot got.
func (s *Sandbox) handleShareChat(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	requestID, err := strconv.ParseInt(in["request_id"], 10, 32)
	if err != nil {
		return fail(badInput("request_id (a 32-bit integer) is required"))
	}
	chatID, err := parseID("chat_id", in["chat_id"])
	if err != nil {
		return fail(err)
	}
	if _, ok := s.world.ChatByBotAPIID(chatID); !ok {
		return fail(notFound("no supergroup %d (use the Bot API id, -100…)", chatID))
	}
	m, err := s.ShareChat(u.ID, int32(requestID), chatID)
	if err != nil {
		return fail(err)
	}
	out := toMessageJSON(m, u.ID)
	return answer(map[string]any{"message": out, "chat_shared": m.ChatShared})
}

// handleGuardBot: POST /sandbox/chats/{chat_id}/guard_bot {"user_id"}:
// the creator names the guard bot (default: the sandbox's bot; 0: none).
func (s *Sandbox) handleGuardBot(r *http.Request, in map[string]string) (int, any, error) {
	c, err := s.pathChat(r)
	if err != nil {
		return fail(err)
	}
	botID := s.bot.ID
	if v := strings.TrimSpace(in["user_id"]); v != "" && v != "bot" {
		if botID, err = parseID("user_id", v); err != nil {
			return fail(err)
		}
	}
	if err := s.SetGuardBot(c.BotAPIID(), botID); err != nil {
		return fail(err)
	}
	out := map[string]any{"chat_id": c.BotAPIID(), "guard_bot": nil}
	if g, ok := s.world.GuardBot(c.ID); ok {
		out["guard_bot"] = toUserJSON(g)
	}
	return answer(out)
}
