package world

import "time"

// Basic groups. Telegram's small groups are "basic groups", with Bot API
// ids -<id> (no -100 prefix), and Telegram upgrades one to a supergroup
// when it grows (200 members) or an admin turns on a supergroup setting:
// the supergroup has a new id, and every Bot API call with the old one is
// answered 400 "Bad Request: group chat was upgraded to a supergroup chat"
// with parameters.migrate_to_chat_id. The old group gets a service message
// with migrate_to_chat_id, the new one a message with migrate_from_chat_id.
//
// In the world a basic group is a chat like a supergroup (the same
// members, admins, links and requests) flagged Basic, with a Bot API id of
// its own; upgrading clears the flag, so the chat, its members and its
// history carry over to the supergroup id, as they do on Telegram.

// ErrMigrated is the answer to the old id of an upgraded basic group;
// MigrateTo on a copy names the supergroup.
var ErrMigrated = sentinel(BadRequest("CHAT_MIGRATED", "group chat was upgraded to a supergroup chat"))

// CreateBasicGroup is a person creating a basic group (messages.createChat).
func (w *World) CreateBasicGroup(creatorID int64, title string) (Chat, error) {
	c, err := w.CreateSupergroup(creatorID, title, "")
	if err != nil {
		return Chat{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.chats[c.ID]
	ch.Basic, ch.BasicID = true, w.nextBasic
	w.nextBasic++
	w.basics[ch.BasicID] = ch.ID
	return ch.snapshot(), nil
}

// UpgradeGroup upgrades the basic group with Bot API id basicID (-<id>) to
// a supergroup, as Telegram does, and returns the supergroup. The service
// messages are sent: migrate_to_chat_id in the basic group, then
// migrate_from_chat_id in the supergroup.
func (w *World) UpgradeGroup(basicID int64) (Chat, error) {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	chID, ok := w.basics[-basicID]
	c := w.chats[chID]
	if !ok || c == nil {
		return Chat{}, errf(ErrChatNotFound, "chat not found")
	}
	if !c.Basic {
		return Chat{}, BadRequest("CHAT_ALREADY_UPGRADED", "")
	}
	now := w.now()
	key := msgKey{0, c.ID}
	old := Message{FromID: c.CreatorID, ChannelID: c.ID, Date: now, MigrateToChatID: BotAPIChatID(c.ID), ChatAs: basicID}
	old.ID = w.nextMsgIDLocked(key)
	w.storeLocked(key, old)
	w.emitLocked(MessageSent{Message: old})
	c.Basic = false
	moved := Message{FromID: c.CreatorID, ChannelID: c.ID, Date: now.Add(time.Nanosecond), MigrateFromChatID: basicID}
	moved.ID = w.nextMsgIDLocked(key)
	w.storeLocked(key, moved)
	w.emitLocked(MessageSent{Message: moved})
	return c.snapshot(), nil
}

// GroupByBotAPIID resolves a group's Bot API id: the chat, or "chat not
// found", or for an upgraded basic group ErrMigrated naming the supergroup.
// A basic group is not reachable by a -100 id before it is upgraded.
func (w *World) GroupByBotAPIID(id int64) (Chat, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.groupLocked(id)
	if err != nil {
		return Chat{}, err
	}
	return c.snapshot(), nil
}

func (w *World) groupLocked(id int64) (*chat, *Error) {
	notFound := errf(ErrChatNotFound, "chat not found")
	if chID, ok := ChannelID(id); ok {
		c, ok := w.chats[chID]
		if !ok || c.Basic {
			return nil, notFound
		}
		return c, nil
	}
	if id >= 0 {
		return nil, notFound
	}
	chID, ok := w.basics[-id]
	if !ok {
		return nil, notFound
	}
	c := w.chats[chID]
	if c == nil {
		return nil, notFound
	}
	if !c.Basic {
		e := *ErrMigrated
		e.MigrateTo = BotAPIChatID(c.ID)
		return nil, &e
	}
	return c, nil
}

// isGroupID reports whether a Bot API chat id names a group (supergroup
// or basic group) rather than a person.
func isGroupID(id int64) bool { return id < 0 }
