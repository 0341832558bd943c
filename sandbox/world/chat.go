package world

import (
	"sort"
	"strings"
	"time"
)

// Chat is a supergroup, as a copy.
type Chat struct {
	// ID is the MTProto channel id; BotAPIID() is the Bot API id.
	ID         int64
	AccessHash int64
	Title      string
	About      string
	CreatorID  int64
	Date       time.Time
	// MembersCount counts creator, administrators, members and restricted members.
	MembersCount int
	// Basic is set while the chat is a basic group (basic.go): its Bot API
	// id is then -BasicID. BasicID stays once it is upgraded.
	Basic   bool
	BasicID int64
	// NoEphemeral: the chat does not allow bots' ephemeral messages
	// (ephemeral.go).
	NoEphemeral bool
}

// BotAPIID is the chat's Bot API id: -100… for a supergroup, -BasicID for
// a basic group.
func (c Chat) BotAPIID() int64 {
	if c.Basic {
		return -c.BasicID
	}
	return BotAPIChatID(c.ID)
}

type chat struct {
	Chat
	members  map[int64]*member
	order    []int64        // user ids in the order they first appeared
	pos      map[int64]int  // user id → index in order
	count    int            // members now (creator, admins, members, restricted)
	admins   map[int64]bool // creator and administrators
	bots     map[int64]bool // bots in the chat now
	byLink   map[string]int // invite hash → members now who came through it
	requests map[int64]*JoinRequest
	// lastRequest is when each user last asked to join, for the bots' DM window.
	lastRequest map[int64]time.Time
	leftSelf    map[int64]bool // users who left by themselves
	primary     string         // hash of the primary invite link
}

// CreateSupergroup is channels.createChannel{megagroup}: creatorID becomes
// the creator of a new private supergroup. CHANNELS_TOO_MUCH when the
// creator is already in Limits.ChannelsPerAccount channels; FLOOD_WAIT_X
// (a 429) after Limits.SupergroupsPerDay creations in 24 hours.
func (w *World) CreateSupergroup(creatorID int64, title, about string) (Chat, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return Chat{}, ErrChatTitleEmpty
	}
	if len([]rune(title)) > 128 {
		return Chat{}, errf(ErrChatTitleEmpty, "CHAT_TITLE_TOO_LONG")
	}
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[creatorID]
	if !ok {
		return Chat{}, ErrUserNotFound
	}
	if u.IsBot {
		return Chat{}, errf(ErrNotEnoughRights, "bots can't create groups")
	}
	if w.channelCountLocked(creatorID) >= w.limits.ChannelsPerAccount {
		return Chat{}, ErrChannelsTooMuch
	}
	if wait := w.creationWaitLocked(creatorID); wait > 0 {
		return Chat{}, TooManyRequests(wait)
	}
	c := &chat{
		Chat: Chat{
			ID:         w.nextChan,
			AccessHash: w.randHash(),
			Title:      title,
			About:      about,
			CreatorID:  creatorID,
			Date:       w.now(),
		},
		members:     map[int64]*member{},
		pos:         map[int64]int{},
		admins:      map[int64]bool{},
		bots:        map[int64]bool{},
		byLink:      map[string]int{},
		requests:    map[int64]*JoinRequest{},
		lastRequest: map[int64]time.Time{},
		leftSelf:    map[int64]bool{},
	}
	w.nextChan++
	w.chats[c.ID] = c
	w.ext.created[creatorID] = append(w.ext.created[creatorID], w.now())
	old := w.memberLocked(c, creatorID)
	m := &member{status: StatusCreator, rights: AllAdminRights(), joinedAt: w.now()}
	w.setMemberLocked(c, creatorID, m)
	w.emitLocked(ChatCreated{Chat: c.snapshot()})
	w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: w.memberLocked(c, creatorID), Actor: creatorID, Date: w.now()})
	return c.snapshot(), nil
}

func (c *chat) snapshot() Chat {
	s := c.Chat
	s.MembersCount = c.count
	return s
}

// Chat returns the supergroup with the MTProto channel id.
func (w *World) Chat(channelID int64) (Chat, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return Chat{}, false
	}
	return c.snapshot(), true
}

// ChatByBotAPIID returns the chat with a Bot API id: -100… for a
// supergroup, -<id> for a basic group that was not upgraded.
func (w *World) ChatByBotAPIID(id int64) (Chat, bool) {
	c, err := w.GroupByBotAPIID(id)
	return c, err == nil
}

// Chats lists every supergroup by id.
func (w *World) Chats() []Chat {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Chat, 0, len(w.chats))
	for _, c := range w.chats {
		out = append(out, c.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ChatsOf lists the supergroups userID is in (creator, administrator,
// member or restricted).
func (w *World) ChatsOf(userID int64) []Chat {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Chat
	for _, c := range w.chats {
		if w.statusLocked(c, userID).IsMember() {
			out = append(out, c.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// EditTitle renames a supergroup; actor needs can_change_info.
func (w *World) EditTitle(channelID, actorID int64, title string) error {
	title = strings.TrimSpace(title)
	if title == "" {
		return ErrChatTitleEmpty
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return ErrChatNotFound
	}
	a := w.memberLocked(c, actorID)
	if a.Status != StatusCreator && !(a.Status == StatusAdministrator && a.Rights.CanChangeInfo) {
		return ErrChatAdminRequired
	}
	c.Title = title
	return nil
}

// EditAbout sets a supergroup's description; actor needs can_change_info.
// It reports false when the description is that already.
func (w *World) EditAbout(channelID, actorID int64, about string) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return false, ErrChatNotFound
	}
	a := w.memberLocked(c, actorID)
	if a.Status != StatusCreator && !(a.Status == StatusAdministrator && a.Rights.CanChangeInfo) {
		return false, ErrChatAdminRequired
	}
	if c.About == about {
		return false, nil
	}
	c.About = about
	return true, nil
}

// channelCountLocked counts the chats userID is in.
func (w *World) channelCountLocked(userID int64) int {
	n := 0
	for _, c := range w.chats {
		if m, ok := c.members[userID]; ok && m.status.IsMember() {
			n++
		}
	}
	return n // a scan over chats: there are few, and people are in fewer
}
