package botapi

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Callback queries, message edits, member tags and join-request queries.

// onCallbackQuery hands a button press to the bot whose message it was.
func (s *Server) onCallbackQuery(q world.CallbackQuery, now time.Time) {
	from, _ := s.w.User(q.FromID)
	m := s.message(q.Message, q.BotID)
	s.bot(q.BotID).push(apiUpdate{CallbackQuery: &apiCallbackQuery{
		ID: q.ID, From: toUser(from), Message: &m, ChatInstance: q.ChatInstance, Data: q.Data,
	}}, now)
}

func (s *Server) answerCallbackQuery(_ context.Context, c *call) (any, error) {
	cacheTime := min(max(c.p.int("cache_time"), 0), 30*24*3600)
	err := s.w.AnswerCallbackQuery(c.bot.ID, c.p.str("callback_query_id"), world.CallbackAnswer{
		Text: c.p.str("text"), ShowAlert: c.p.bool("show_alert"), URL: c.p.str("url"), CacheTime: cacheTime,
	})
	if err != nil {
		return nil, err
	}
	return true, nil
}

// editTarget resolves chat_id and message_id of an edit; inline messages
// (inline_message_id) do not exist in the sandbox.
func (s *Server) editTarget(c *call) (chatID int64, messageID int, err error) {
	if c.p.str("chat_id") == "" && c.p.int("message_id") == 0 {
		if c.p.str("inline_message_id") == "" {
			return 0, 0, badRequest("message identifier is not specified")
		}
		return 0, 0, badRequest("MESSAGE_ID_INVALID")
	}
	if chatID, err = s.chatID(c); err != nil {
		return 0, 0, err
	}
	if chatID < 0 {
		if _, err := s.group(c); err != nil {
			return 0, 0, err
		}
	} else if _, ok := s.w.User(chatID); !ok {
		return 0, 0, badRequest("chat not found")
	}
	messageID = c.p.int("message_id")
	if messageID <= 0 {
		return 0, 0, world.ErrMessageToEdit
	}
	return chatID, messageID, nil
}

// editMessageText replaces the text and, as on Telegram, the inline
// keyboard: without reply_markup the keyboard goes.
func (s *Server) editMessageText(_ context.Context, c *call) (any, error) {
	chatID, messageID, err := s.editTarget(c)
	if err != nil {
		return nil, err
	}
	text, entities, err := formatText(c.p.str("text"), c.p.str("parse_mode"))
	if err != nil {
		return nil, err
	}
	if v := c.p.str("entities"); v != "" && c.p.str("parse_mode") == "" {
		if err := json.Unmarshal([]byte(v), &entities); err != nil {
			return nil, badRequest("can't parse entities JSON object")
		}
	}
	markup, _, err := checkReplyMarkup(c.p.str("reply_markup"), chatID > 0, true)
	if err != nil {
		return nil, err
	}
	m, err := s.w.EditMessage(c.bot.ID, chatID, messageID, world.MessageEdit{Text: &text, Entities: entities, ReplyMarkup: &markup})
	if err != nil {
		return nil, err
	}
	return s.message(m, c.bot.ID), nil
}

func (s *Server) editMessageReplyMarkup(_ context.Context, c *call) (any, error) {
	chatID, messageID, err := s.editTarget(c)
	if err != nil {
		return nil, err
	}
	markup, _, err := checkReplyMarkup(c.p.str("reply_markup"), chatID > 0, true)
	if err != nil {
		return nil, err
	}
	m, err := s.w.EditMessage(c.bot.ID, chatID, messageID, world.MessageEdit{ReplyMarkup: &markup})
	if err != nil {
		return nil, err
	}
	return s.message(m, c.bot.ID), nil
}

// setChatMemberTag (Bot API 9.5): the bot needs can_manage_tags; see
// world.SetMemberTag for the refusals.
func (s *Server) setChatMemberTag(_ context.Context, c *call) (any, error) {
	if id, err := s.chatID(c); err != nil {
		return nil, err
	} else if id > 0 {
		return nil, badRequest("method is available only for groups and supergroups")
	}
	return s.inGroup(c, nil, func(channelID int64) error {
		uid := c.p.int64("user_id")
		if _, ok := s.w.User(uid); !ok {
			return world.ErrUserNotFound
		}
		return s.w.SetMemberTag(channelID, c.bot.ID, uid, c.p.str("tag"))
	})
}

// answerChatJoinRequestQuery (Bot API 10.1): the guard bot's approve,
// decline or queue.
func (s *Server) answerChatJoinRequestQuery(_ context.Context, c *call) (any, error) {
	if err := s.w.AnswerJoinRequestQuery(c.bot.ID, c.p.str("chat_join_request_query_id"), c.p.str("result")); err != nil {
		return nil, err
	}
	return true, nil
}

// sendChatJoinRequestWebApp (Bot API 10.1): the guard bot shows the
// requester its Mini App (world.SendJoinRequestWebApp) and answers the
// query later. The URL must be HTTPS, as Telegram's web_app buttons; local
// hosts may use plain HTTP unless Options.StrictWebhookURL, as webhooks.
func (s *Server) sendChatJoinRequestWebApp(_ context.Context, c *call) (any, error) {
	raw := c.p.str("web_app_url")
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.User != nil || len(raw) > 2048:
		return nil, badRequest("WEBAPP_URL_INVALID")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLocalHost(u.Hostname()) && !s.opts.StrictWebhookURL:
	default:
		return nil, badRequest("WEBAPP_URL_INVALID")
	}
	if err := s.w.SendJoinRequestWebApp(c.bot.ID, c.p.str("chat_join_request_query_id"), raw); err != nil {
		return nil, err
	}
	return true, nil
}
