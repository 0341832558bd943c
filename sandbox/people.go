package sandbox

import (
	"fmt"

	"github.com/karmagate/karmagate/sandbox/world"
)

// The Go API for simulated people, mirroring the control API. Chat ids are
// Bot API ids (-100…), user ids are the same everywhere.

// CreateUser creates a person.
func (s *Sandbox) CreateUser(spec world.UserSpec) (world.User, error) {
	return s.world.CreateUser(spec)
}

// DeleteUser deletes a person (or a bot other than the sandbox's): gone
// from every chat, join request and contact list, their private chats with
// them; logged out of MTProto. Their id is never given out again. See
// world.DeleteUser.
func (s *Sandbox) DeleteUser(userID int64) error {
	if userID == s.bot.ID {
		return badInput("the sandbox's bot @%s can't be deleted (Reset keeps it)", s.bot.Username)
	}
	return s.world.DeleteUser(userID)
}

// Reset empties the world for the next story, as Start left it: every
// person, chat, invite link, message and login code is gone; the sandbox's
// bot stays with its id and token (and its webhook and commands), its
// pending updates dropped; MTProto clients are logged out. The clock, the
// call log, the fault setting and the id counters carry on, so ids are
// never reused. See world.Reset.
func (s *Sandbox) Reset() {
	s.world.Reset(s.bot.ID)
	s.oidc.Reset()
}

// SendMessage makes a person send text to chatID: the default bot's private
// chat when chatID is 0, another user, or a supergroup (-100…).
func (s *Sandbox) SendMessage(userID, chatID int64, text string) (world.Message, error) {
	if chatID == 0 {
		chatID = s.bot.ID
	}
	return s.world.SendMessage(userID, chatID, text, world.SendOptions{})
}

// SendAnonymously makes an anonymous admin post text in the group chatID
// as the group: bots see it from @GroupAnonymousBot with sender_chat the
// group.
func (s *Sandbox) SendAnonymously(userID, chatID int64, text string) (world.Message, error) {
	return s.world.SendMessage(userID, chatID, text, world.SendOptions{Anonymous: true})
}

// StartBot is the person tapping https://t.me/<bot>?start=<param>: the bot
// gets "/start <param>" (or "/start" with no param).
func (s *Sandbox) StartBot(userID int64, param string) (world.Message, error) {
	text := "/start"
	if param != "" {
		text += " " + param
	}
	return s.SendMessage(userID, 0, text)
}

// ShareContact makes the person share their own phone with the default bot.
func (s *Sandbox) ShareContact(userID int64) (world.Message, error) {
	return s.world.ShareContact(userID, s.bot.ID)
}

// Join makes the person open an invite link.
func (s *Sandbox) Join(userID int64, inviteLink string) (world.JoinResult, error) {
	return s.world.JoinByLink(userID, inviteLink)
}

// Leave makes the person leave a group (Bot API id: a supergroup, or a
// basic group not upgraded).
func (s *Sandbox) Leave(userID, chatID int64) error {
	c, err := s.world.GroupByBotAPIID(chatID)
	if err != nil {
		return fmt.Errorf("sandbox: leave %d: %w", chatID, err)
	}
	return s.world.Leave(c.ID, userID)
}

// BlockBot makes the person block (or unblock) the default bot.
func (s *Sandbox) BlockBot(userID int64, blocked bool) error {
	return s.world.BlockBot(userID, s.bot.ID, blocked)
}

// Received is what the person received in private chats, oldest first.
func (s *Sandbox) Received(userID int64) []world.Message {
	return s.world.Messages(userID)
}

// CreateChat makes a person create a supergroup by hand.
func (s *Sandbox) CreateChat(creatorID int64, title, about string) (world.Chat, error) {
	return s.world.CreateSupergroup(creatorID, title, about)
}

// DefaultBotRights are the rights MakeAdmin gives when none are named: what
// karmagate's bot needs.
func DefaultBotRights() world.AdminRights {
	return world.AdminRights{
		CanManageChat: true, CanDeleteMessages: true, CanRestrictMembers: true,
		CanInviteUsers: true, CanPinMessages: true, CanChangeInfo: true,
		CanManageTags: true,
	}
}

// MakeAdmin has the chat's creator make userID (0: the default bot) an
// administrator with rights (nil: DefaultBotRights).
func (s *Sandbox) MakeAdmin(chatID, userID int64, rights *world.AdminRights) error {
	ch, ok := s.world.ChatByBotAPIID(chatID)
	if !ok {
		return world.ErrChatNotFound
	}
	if userID == 0 {
		userID = s.bot.ID
	}
	r := DefaultBotRights()
	if rights != nil {
		r = *rights
	}
	return s.world.PromoteAdmin(ch.ID, ch.CreatorID, userID, r, "")
}

// Members is the real member list of a supergroup (Bot API id).
func (s *Sandbox) Members(chatID int64) ([]world.ChatMember, error) {
	ch, ok := s.world.ChatByBotAPIID(chatID)
	if !ok {
		return nil, world.ErrChatNotFound
	}
	return s.world.Members(ch.ID), nil
}

// Code is the last login code sent to the phone.
func (s *Sandbox) Code(phone string) (string, bool) { return s.world.LastCode(phone) }

// Calls is the call log: the last Config.MaxCalls Bot API and MTProto
// calls, oldest first.
func (s *Sandbox) Calls() []world.Call { return s.world.Calls() }

// SetFaults turns faults on or off.
func (s *Sandbox) SetFaults(f world.Faults) { s.world.SetFaults(f) }
