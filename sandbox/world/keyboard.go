package world

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"
)

// Keyboards a bot attaches to its messages (reply_markup), the callback
// queries people raise by pressing inline buttons, and message edits.

// Markup is the part of a reply_markup that people act on, decoded from the
// Bot API's JSON (InlineKeyboardMarkup, ReplyKeyboardMarkup,
// ReplyKeyboardRemove or ForceReply). The Bot API layer checks it first.
type Markup struct {
	InlineKeyboard  [][]InlineButton   `json:"inline_keyboard,omitempty"`
	Keyboard        [][]KeyboardButton `json:"keyboard,omitempty"`
	OneTimeKeyboard bool               `json:"one_time_keyboard,omitempty"`
	RemoveKeyboard  bool               `json:"remove_keyboard,omitempty"`
	ForceReply      bool               `json:"force_reply,omitempty"`
}

// InlineButton is an inline keyboard button; only callback_data and url are
// modelled.
type InlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// KeyboardButton is a reply keyboard button. A plain string is a button
// with that text, as the Bot API accepts.
type KeyboardButton struct {
	Text           string       `json:"text"`
	RequestContact bool         `json:"request_contact,omitempty"`
	RequestChat    *ChatRequest `json:"request_chat,omitempty"`
}

// UnmarshalJSON accepts a button object or a bare string.
func (b *KeyboardButton) UnmarshalJSON(data []byte) error {
	var text string
	if json.Unmarshal(data, &text) == nil {
		*b = KeyboardButton{Text: text}
		return nil
	}
	type plain KeyboardButton
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("keyboard button: %w", err)
	}
	*b = KeyboardButton(p)
	return nil
}

// ChatRequest is a KeyboardButtonRequestChat: what chat the person may
// pick, and what the bot must be there.
type ChatRequest struct {
	RequestID               int32        `json:"request_id"`
	ChatIsChannel           bool         `json:"chat_is_channel"`
	ChatIsForum             *bool        `json:"chat_is_forum,omitempty"`
	ChatHasUsername         *bool        `json:"chat_has_username,omitempty"`
	ChatIsCreated           bool         `json:"chat_is_created,omitempty"`
	UserAdministratorRights *AdminRights `json:"user_administrator_rights,omitempty"`
	BotAdministratorRights  *AdminRights `json:"bot_administrator_rights,omitempty"`
	BotIsMember             bool         `json:"bot_is_member,omitempty"`
	RequestTitle            bool         `json:"request_title,omitempty"`
	RequestUsername         bool         `json:"request_username,omitempty"`
	RequestPhoto            bool         `json:"request_photo,omitempty"`
}

// ParseMarkup decodes a raw reply_markup; "" is no markup (nil).
func ParseMarkup(raw string) (*Markup, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var m Markup
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("reply markup: %w", err)
	}
	return &m, nil
}

// Errors of keyboards, callback queries and edits, worded as the Bot API's.
var (
	ErrQueryIDInvalid    = sentinel(BadRequest("QUERY_ID_INVALID", "query is too old and response timeout expired or query ID is invalid"))
	ErrDataInvalid       = sentinel(BadRequest("DATA_INVALID", ""))
	ErrMessageIDInvalid  = sentinel(BadRequest("MESSAGE_ID_INVALID", "message not found"))
	ErrMessageToEdit     = sentinel(BadRequest("MESSAGE_ID_INVALID", "message to edit not found"))
	ErrMessageCantEdit   = sentinel(BadRequest("MESSAGE_AUTHOR_REQUIRED", "message can't be edited"))
	ErrMessageNoText     = sentinel(BadRequest("MESSAGE_EDIT_NO_TEXT", "there is no text in the message to edit"))
	ErrMessageNotChanged = sentinel(BadRequest("MESSAGE_NOT_MODIFIED", "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"))
)

// CallbackQuery is a press of an inline button, as a copy.
type CallbackQuery struct {
	ID     string
	BotID  int64
	FromID int64
	// Message is the bot's message that carries the button.
	Message Message
	// ChatInstance identifies the chat for the bot (stable per bot and chat).
	ChatInstance string
	Data         string
	Date         time.Time
}

// CallbackAnswer is a bot's answerCallbackQuery, shown to the person.
type CallbackAnswer struct {
	Text      string `json:"text,omitempty"`
	ShowAlert bool   `json:"show_alert,omitempty"`
	URL       string `json:"url,omitempty"`
	CacheTime int    `json:"cache_time,omitempty"`
}

type callbackQuery struct {
	CallbackQuery
	answered bool
	answer   CallbackAnswer
}

// CallbackQueried: a person pressed an inline button of a bot's message.
type CallbackQueried struct{ Query CallbackQuery }

func (CallbackQueried) isEvent() {}

// findMessageLocked finds message messageID of the chat that viewerID
// calls chatID (the other side of a private chat, or a supergroup's Bot API
// id), not deleted; nil if there is none.
func (w *World) findMessageLocked(viewerID, chatID int64, messageID int) *Message {
	st := w.messageLocked(viewerID, chatID, messageID)
	if st == nil || st.Deleted {
		return nil
	}
	m := &st.Message
	if m.ChannelID == 0 && m.FromID != viewerID && m.ToID != viewerID {
		return nil
	}
	return m
}

// PressButton is userID pressing the inline button whose callback_data is
// data, on message messageID of chatID as the person sees it (the bot for a
// private chat, -100… for a supergroup). Only what a button of that message
// holds can be sent (DATA_INVALID otherwise), as Telegram's clients send
// nothing else. The message's bot gets a callback_query (CallbackQueried),
// which it must answer within Limits.CallbackQueryTTL.
func (w *World) PressButton(userID, chatID int64, messageID int, data string) (CallbackQuery, error) {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.users[userID]; !ok {
		return CallbackQuery{}, ErrUserNotFound
	}
	m := w.findMessageLocked(userID, chatID, messageID)
	if m == nil {
		return CallbackQuery{}, ErrMessageIDInvalid
	}
	if m.ChannelID != 0 {
		if !w.statusLocked(w.chats[m.ChannelID], userID).IsMember() {
			return CallbackQuery{}, Forbidden("CHANNEL_PRIVATE", "the person is not a member of the chat")
		}
	}
	bot, ok := w.users[m.FromID]
	if !ok || !bot.IsBot || !markupHasCallback(m.ReplyMarkup, data) {
		return CallbackQuery{}, errf(ErrDataInvalid, "DATA_INVALID: the message has no inline button with that callback_data")
	}
	now := w.now()
	x := &w.ext
	x.init()
	for id, q := range x.callbacks {
		if now.Sub(q.Date) > w.limits.CallbackQueryTTL {
			delete(x.callbacks, id)
		}
	}
	q := &callbackQuery{CallbackQuery: CallbackQuery{
		ID:           w.queryIDLocked(),
		BotID:        bot.ID,
		FromID:       userID,
		Message:      *m,
		ChatInstance: chatInstance(bot.ID, m.ChatIDFor(bot.ID)),
		Data:         data,
		Date:         now,
	}}
	x.callbacks[q.ID] = q
	w.emitLocked(CallbackQueried{Query: q.CallbackQuery})
	return q.CallbackQuery, nil
}

func markupHasCallback(raw, data string) bool {
	mk, err := ParseMarkup(raw)
	if err != nil || mk == nil || data == "" {
		return false
	}
	for _, row := range mk.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// chatInstance is a stable identifier of a chat as a bot sees it.
func chatInstance(botID, chatID int64) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d:%d", botID, chatID)
	return itoa(int64(h.Sum64()))
}

// AnswerCallbackQuery is answerCallbackQuery: botID answers its query once,
// within Limits.CallbackQueryTTL of the press; an unknown, foreign, answered
// or expired query is QUERY_ID_INVALID ("query is too old and response
// timeout expired or query ID is invalid"). The text is at most 200
// characters.
func (w *World) AnswerCallbackQuery(botID int64, queryID string, a CallbackAnswer) error {
	if utf8.RuneCountInString(a.Text) > 200 {
		return BadRequest("MESSAGE_TOO_LONG", "message is too long")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	x := &w.ext
	x.init()
	q, ok := x.callbacks[queryID]
	if !ok || q.BotID != botID || q.answered || w.now().Sub(q.Date) > w.limits.CallbackQueryTTL {
		return ErrQueryIDInvalid
	}
	q.answered, q.answer = true, a
	return nil
}

// CallbackAnswer is the bot's answer to a callback query, if it gave one
// (and the query is still remembered).
func (w *World) CallbackAnswer(queryID string) (CallbackAnswer, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, ok := w.ext.callbacks[queryID]
	if !ok || !q.answered {
		return CallbackAnswer{}, false
	}
	return q.answer, true
}

// MessageEdit is an edit of a message: nil fields stay as they are.
type MessageEdit struct {
	// Text and Entities replace the text (editMessageText).
	Text     *string
	Entities []Entity
	// ReplyMarkup replaces the inline keyboard; "" removes it.
	ReplyMarkup *string
}

// EditMessage is editMessageText / editMessageReplyMarkup by actorID on
// message messageID of chatID as the actor sees it. Telegram's refusals:
// "message to edit not found", "message can't be edited" (someone else's,
// or one with a reply keyboard), "there is no text in the message to edit"
// (a contact), "message is not modified" (same text, entities and
// keyboard). Bots may edit their own messages at any age.
func (w *World) EditMessage(actorID, chatID int64, messageID int, e MessageEdit) (Message, error) {
	if e.Text != nil {
		if strings.TrimSpace(*e.Text) == "" {
			return Message{}, BadRequest("MESSAGE_EMPTY", "message text is empty")
		}
		if utf8.RuneCountInString(*e.Text) > 4096 {
			return Message{}, BadRequest("MESSAGE_TOO_LONG", "message is too long")
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.findMessageLocked(actorID, chatID, messageID)
	if m == nil {
		return Message{}, ErrMessageToEdit
	}
	if m.FromID != actorID {
		return Message{}, ErrMessageCantEdit
	}
	if mk, _ := ParseMarkup(m.ReplyMarkup); mk != nil && (len(mk.Keyboard) > 0 || mk.RemoveKeyboard || mk.ForceReply) {
		return Message{}, ErrMessageCantEdit
	}
	if e.Text != nil && m.Contact != nil {
		return Message{}, ErrMessageNoText
	}
	text, entities, markup := m.Text, m.Entities, m.ReplyMarkup
	if e.Text != nil {
		text, entities = *e.Text, e.Entities
	}
	if e.ReplyMarkup != nil {
		markup = *e.ReplyMarkup
	}
	if text == m.Text && sameEntities(entities, m.Entities) && sameMarkup(markup, m.ReplyMarkup) {
		return Message{}, ErrMessageNotChanged
	}
	m.Text, m.Entities, m.ReplyMarkup = text, entities, markup
	m.EditDate = w.now()
	return *m, nil
}

func sameEntities(a, b []Entity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameMarkup compares two raw markups by their JSON values.
func sameMarkup(a, b string) bool {
	canon := func(raw string) string {
		var v any
		if strings.TrimSpace(raw) == "" || json.Unmarshal([]byte(raw), &v) != nil {
			return strings.TrimSpace(raw)
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	return canon(a) == canon(b)
}

// ActiveKeyboard is the reply keyboard botID last showed userID in their
// private chat (nil if none, or if it was removed).
func (w *World) ActiveKeyboard(botID, userID int64) *Markup {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.activeKeyboardLocked(botID, userID)
}

func (w *World) activeKeyboardLocked(botID, userID int64) *Markup {
	list := w.msgs[dialogKey(botID, userID)]
	for i := len(list) - 1; i >= 0; i-- {
		m := list[i]
		if m.FromID != botID || m.Deleted {
			continue
		}
		mk, err := ParseMarkup(m.ReplyMarkup)
		if err != nil || mk == nil {
			continue
		}
		if mk.RemoveKeyboard {
			return nil
		}
		if len(mk.Keyboard) > 0 {
			return mk
		}
	}
	return nil
}
