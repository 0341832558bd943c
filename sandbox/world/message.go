package world

import (
	"sort"
	"strings"
	"time"
	"unicode/utf16"
)

// Entity is a message entity (Bot API MessageEntity, offsets in UTF-16).
type Entity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	URL    string `json:"url,omitempty"`
}

// Contact is a shared phone contact.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	// UserID is the Telegram user the phone belongs to, 0 if unknown.
	UserID int64 `json:"user_id,omitempty"`
}

// Message is a sent message, as a copy.
type Message struct {
	// ID is the message id within its chat (per private dialog, per group).
	ID     int
	FromID int64
	// ToID is the receiver of a private message; 0 in groups.
	ToID int64
	// ChannelID is the supergroup of a group message; 0 in private chats.
	ChannelID int64
	Date      time.Time
	Text      string
	Entities  []Entity
	Contact   *Contact
	// ReplyMarkup is the raw JSON reply_markup a bot attached, if any.
	ReplyMarkup string
	Deleted     bool
	// Pinned: an admin pinned it (pin.go).
	Pinned bool
	// EditDate is when the message was last edited; zero if never.
	EditDate time.Time
	// ChatShared is the service message a person's request_chat button sends.
	ChatShared *ChatShared
	// ChatAs is the group's Bot API id when it was a basic group (-<id>),
	// 0 for a supergroup's -100… id (basic.go).
	ChatAs int64
	// MigrateToChatID and MigrateFromChatID are the service messages of a
	// basic group's upgrade (basic.go).
	MigrateToChatID, MigrateFromChatID int64
	// Anonymous: an anonymous admin sent it as the group; bots see it from
	// @GroupAnonymousBot with sender_chat the group (anonymous.go). FromID
	// is still the person.
	Anonymous bool
	// ReceiverID makes a group message ephemeral (ephemeral.go): only
	// that person (and the sender) see it, and ID numbers the chat's
	// ephemeral messages (the Bot API's ephemeral_message_id), apart from
	// its other messages.
	ReceiverID int64
}

// ChatIDFor is the Bot API chat id of the message's chat as viewer sees it:
// the other person for private chats, -100… for groups.
func (m Message) ChatIDFor(viewerID int64) int64 {
	if m.ChatAs != 0 {
		return m.ChatAs
	}
	if m.ChannelID != 0 {
		return BotAPIChatID(m.ChannelID)
	}
	if viewerID == m.FromID {
		return m.ToID
	}
	return m.FromID
}

// SendOptions are a message's extras.
type SendOptions struct {
	Entities    []Entity
	ReplyMarkup string
	Contact     *Contact
	ChatShared  *ChatShared
	// Anonymous sends a group message as the group (anonymous.go).
	Anonymous bool
	// ReceiverID sends a group message that only this person sees
	// (ephemeral.go).
	ReceiverID int64
}

type private struct {
	started bool // the person wrote to the bot
	blocked bool // the person blocked the bot
}

type msgKey [2]int64

func dialogKey(a, b int64) msgKey {
	if a > b {
		a, b = b, a
	}
	return msgKey{a, b}
}

// SendMessage sends text from fromID to chatID, a Bot API chat id: a user id
// for a private chat, -100… for a supergroup. A bot may only write to people
// who wrote to it and did not block it, or who asked to join a chat it
// administers with can_invite_users in the last Limits.JoinRequestDMWindow.
// Otherwise it gets Telegram's three answers: 403 "bot was blocked by the
// user" (blocked), 403 "bot can't initiate conversation with a user" (a
// person the bot has seen, in one of its chats or a join request, who
// never started it, or whose join request is older than the window), 400
// "chat not found" (a person the bot has never seen). Bots are held to the message rate limits (429).
// A person's first message to a bot starts it. Commands get a bot_command
// entity, as Telegram adds.
func (w *World) SendMessage(fromID, chatID int64, text string, opts SendOptions) (Message, error) {
	if strings.TrimSpace(text) == "" && opts.Contact == nil && opts.ChatShared == nil {
		return Message{}, BadRequest("MESSAGE_EMPTY", "message text is empty")
	}
	if len(utf16.Encode([]rune(text))) > 4096 {
		return Message{}, BadRequest("MESSAGE_TOO_LONG", "message is too long")
	}
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	from, ok := w.users[fromID]
	if !ok {
		return Message{}, ErrUserNotFound
	}
	now := w.now()
	m := Message{FromID: fromID, Date: now, Text: text, Entities: opts.Entities, Contact: opts.Contact, ReplyMarkup: opts.ReplyMarkup, ChatShared: opts.ChatShared}
	var key msgKey
	if isGroupID(chatID) {
		c, gerr := w.groupLocked(chatID)
		if gerr != nil {
			return Message{}, gerr
		}
		channelID := c.ID
		if c.Basic {
			m.ChatAs = c.BotAPIID()
		}
		if opts.Anonymous {
			if err := anonymousLocked(w.memberLocked(c, fromID)); err != nil {
				return Message{}, err
			}
			m.Anonymous = true
		}
		switch st := w.memberLocked(c, fromID).Status; {
		case st == StatusKicked:
			return Message{}, Forbidden("CHANNEL_PRIVATE", "bot was kicked from the supergroup chat")
		case !st.IsMember():
			return Message{}, ErrBotIsNotMember
		}
		m.ChannelID = channelID
		key = msgKey{0, channelID}
		if opts.ReceiverID != 0 {
			if err := w.checkEphemeralLocked(c, opts.ReceiverID); err != nil {
				return Message{}, err
			}
			m.ReceiverID = opts.ReceiverID
			key = ephemeralKey(channelID)
		}
		if from.IsBot {
			if err := w.sendLimit(fromID, chatID, true); err != nil {
				return Message{}, err
			}
		}
	} else {
		if opts.ReceiverID != 0 {
			return Message{}, ErrEphemeralPrivate
		}
		if opts.Anonymous {
			return Message{}, BadRequest("SEND_AS_PEER_INVALID", "only a group's admins can post anonymously, in the group")
		}
		to, ok := w.users[chatID]
		if !ok || chatID == fromID {
			return Message{}, errf(ErrChatNotFound, "chat not found")
		}
		switch {
		case from.IsBot && to.IsBot:
			return Message{}, Forbidden("USER_IS_BOT", "bot can't send messages to bots")
		case from.IsBot:
			p := w.privates[msgKey{fromID, chatID}]
			if p != nil && p.blocked {
				return Message{}, ErrBotBlocked
			}
			if (p == nil || !p.started) && !w.recentJoinRequestLocked(fromID, chatID, now) {
				if !w.knowsLocked(fromID, chatID) {
					// Never seen: the bot has no access to the person at all.
					return Message{}, errf(ErrChatNotFound, "chat not found")
				}
				return Message{}, ErrCantInitiate
			}
			if err := w.sendLimit(fromID, chatID, false); err != nil {
				return Message{}, err
			}
		case to.IsBot:
			p := w.privateLocked(chatID, fromID)
			p.started = true
			p.blocked = false
		}
		m.ToID = chatID
		key = dialogKey(fromID, chatID)
	}
	if len(m.Entities) == 0 && strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		m.Entities = []Entity{{Type: "bot_command", Offset: 0, Length: len(utf16.Encode([]rune(cmd)))}}
	}
	m.ID = w.nextMsgIDLocked(key)
	w.storeLocked(key, m)
	w.emitLocked(MessageSent{Message: m})
	return m, nil
}

// stored is a message as the world keeps it, numbered across all chats so
// that lists spanning chats come out in sending order.
type stored struct {
	Message
	seq uint64
}

// storeLocked keeps m in its chat's list, dropping the oldest beyond
// Options.MaxMessagesPerChat.
func (w *World) storeLocked(key msgKey, m Message) {
	list := append(w.msgs[key], stored{Message: m, seq: w.sent})
	w.sent++
	if over := len(list) - w.opts.MaxMessagesPerChat; over > 0 {
		clear(list[:over]) // let the dropped texts go before the array does
		list = list[over:]
	}
	w.msgs[key] = list
	if m.ToID != 0 {
		w.talkLocked(m.FromID, m.ToID)
		w.talkLocked(m.ToID, m.FromID)
	}
}

func (w *World) talkLocked(userID, otherID int64) {
	t := w.talks[userID]
	if t == nil {
		t = map[int64]bool{}
		w.talks[userID] = t
	}
	t[otherID] = true
}

// messageLocked finds a message kept in the chat that actorID calls chatID
// (a person or bot for a private chat, -100… for a supergroup), nil if it
// is not (or no longer) kept.
func (w *World) messageLocked(actorID, chatID int64, messageID int) *stored {
	key := dialogKey(actorID, chatID)
	if isGroupID(chatID) {
		c, err := w.groupLocked(chatID)
		if err != nil {
			return nil
		}
		key = msgKey{0, c.ID}
	}
	list := w.msgs[key]
	i := sort.Search(len(list), func(i int) bool { return list[i].ID >= messageID })
	if i == len(list) || list[i].ID != messageID {
		return nil
	}
	return &list[i]
}

func (w *World) privateLocked(botID, userID int64) *private {
	k := msgKey{botID, userID}
	p := w.privates[k]
	if p == nil {
		p = &private{}
		w.privates[k] = p
	}
	return p
}

func (w *World) nextMsgIDLocked(key msgKey) int {
	w.msgSeq[key]++
	return w.msgSeq[key]
}

// recentJoinRequestLocked: did userID ask to join a chat where botID is an
// admin with can_invite_users within the window?
func (w *World) recentJoinRequestLocked(botID, userID int64, now time.Time) bool {
	for _, c := range w.chats {
		r, ok := c.requests[userID]
		at := time.Time{}
		if ok {
			at = r.Date
		} else if t, ok := c.requestedAt(userID); ok {
			at = t
		}
		if at.IsZero() || now.Sub(at) > w.limits.JoinRequestDMWindow {
			continue
		}
		if canLocked(w.memberLocked(c, botID), func(r AdminRights) bool { return r.CanInviteUsers }) {
			return true
		}
	}
	return false
}

// requestedAt is when userID last asked to join (even if since resolved).
func (c *chat) requestedAt(userID int64) (time.Time, bool) {
	t, ok := c.lastRequest[userID]
	return t, ok
}

// ShareContact is the person tapping "share my phone number" in the bot's
// chat: a message with their own contact, user_id filled in.
func (w *World) ShareContact(userID, botID int64) (Message, error) {
	u, ok := w.User(userID)
	if !ok {
		return Message{}, ErrUserNotFound
	}
	if u.Phone == "" {
		return Message{}, BadRequest("CONTACT_MISSING", "the user has no phone number")
	}
	return w.SendMessage(userID, botID, "", SendOptions{Contact: &Contact{
		PhoneNumber: "+" + u.Phone, FirstName: u.FirstName, LastName: u.LastName, UserID: u.ID,
	}})
}

// ResolveContactUserID is what sendContact fills contact.user_id with: the
// owner of the phone when their privacy is "everybody", else 0 (Telegram
// does not promise to resolve arbitrary numbers).
func (w *World) ResolveContactUserID(phone string) int64 {
	u, ok := w.UserByPhone(phone)
	if !ok || u.Privacy != PrivacyEverybody {
		return 0
	}
	return u.ID
}

// Knows reports whether a bot has seen a person: they wrote to it, or
// they are (or were, or asked to be) in a chat the bot is in. getChat on a
// person the bot does not know is "chat not found", as on Telegram.
func (w *World) Knows(botID, userID int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.knowsLocked(botID, userID)
}

func (w *World) knowsLocked(botID, userID int64) bool {
	if _, ok := w.privates[msgKey{botID, userID}]; ok {
		return true
	}
	for _, c := range w.chats {
		if !c.bots[botID] {
			continue
		}
		if _, ok := c.members[userID]; ok {
			return true
		}
		if _, ok := c.lastRequest[userID]; ok {
			return true
		}
	}
	return false
}

// BlockBot is the person blocking (or with blocked=false unblocking) a bot.
func (w *World) BlockBot(userID, botID int64, blocked bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.users[userID]; !ok {
		return ErrUserNotFound
	}
	b, ok := w.users[botID]
	if !ok || !b.IsBot {
		return ErrUserNotFound
	}
	w.privateLocked(botID, userID).blocked = blocked
	return nil
}

// DeleteMessage deletes a message. In private chats either side may delete;
// in groups the sender, or an admin with can_delete_messages.
func (w *World) DeleteMessage(actorID, chatID int64, messageID int) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.messageLocked(actorID, chatID, messageID)
	if m == nil || m.Deleted {
		return ErrMessageNotFound
	}
	if m.ChannelID == 0 && m.FromID != actorID && m.ToID != actorID {
		return ErrMessageNotFound
	}
	if m.ChannelID != 0 && m.FromID != actorID {
		c := w.chats[m.ChannelID]
		if !canLocked(w.memberLocked(c, actorID), func(r AdminRights) bool { return r.CanDeleteMessages }) {
			return ErrMessageCantDelete
		}
	}
	m.Deleted = true
	w.emitLocked(MessageDeleted{ChatID: chatID, MessageID: messageID, Actor: actorID})
	return nil
}

// Messages lists what userID received in private chats (from bots and
// people), and the ephemeral messages sent to them in groups, oldest
// first, deleted ones left out. Each chat keeps its last
// Options.MaxMessagesPerChat messages.
func (w *World) Messages(userID int64) []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	var kept []stored
	for other := range w.talks[userID] {
		for _, m := range w.msgs[dialogKey(userID, other)] {
			if m.ToID == userID && !m.Deleted {
				kept = append(kept, m)
			}
		}
	}
	kept = append(kept, w.ephemeralToLocked(userID)...)
	return inOrder(kept)
}

// AllMessages lists every message kept, oldest first.
func (w *World) AllMessages() []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	var kept []stored
	for _, list := range w.msgs {
		kept = append(kept, list...)
	}
	return inOrder(kept)
}

// inOrder sorts messages from several chats into sending order.
func inOrder(kept []stored) []Message {
	sort.Slice(kept, func(i, j int) bool { return kept[i].seq < kept[j].seq })
	var out []Message
	for _, m := range kept {
		out = append(out, m.Message)
	}
	return out
}
