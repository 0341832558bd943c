package world

import (
	"sort"
	"time"
)

// Status is a chat member's state, spelled as in the Bot API.
type Status string

const (
	StatusCreator       Status = "creator"
	StatusAdministrator Status = "administrator"
	StatusMember        Status = "member"
	StatusRestricted    Status = "restricted"
	StatusLeft          Status = "left"
	StatusKicked        Status = "kicked"
)

// IsMember reports whether the status counts as being in the chat.
func (s Status) IsMember() bool {
	return s == StatusCreator || s == StatusAdministrator || s == StatusMember || s == StatusRestricted
}

// AdminRights are an administrator's rights, named as in the Bot API's
// ChatAdministratorRights.
type AdminRights struct {
	IsAnonymous         bool `json:"is_anonymous"`
	CanManageChat       bool `json:"can_manage_chat"`
	CanDeleteMessages   bool `json:"can_delete_messages"`
	CanManageVideoChats bool `json:"can_manage_video_chats"`
	CanRestrictMembers  bool `json:"can_restrict_members"`
	CanPromoteMembers   bool `json:"can_promote_members"`
	CanChangeInfo       bool `json:"can_change_info"`
	CanInviteUsers      bool `json:"can_invite_users"`
	CanPostStories      bool `json:"can_post_stories"`
	CanEditStories      bool `json:"can_edit_stories"`
	CanDeleteStories    bool `json:"can_delete_stories"`
	CanPinMessages      bool `json:"can_pin_messages"`
	CanManageTopics     bool `json:"can_manage_topics"`
	// CanManageTags lets an administrator set regular members' tags
	// (Bot API 9.5; MTProto's manage_ranks).
	CanManageTags bool `json:"can_manage_tags"`
	// CanSendWelcomeMessages lets an administrator manage the chat's
	// welcome messages, or a bot send them (Bot API 10.3). Bot API only:
	// MTProto's rights in gotd's layer do not carry it.
	CanSendWelcomeMessages bool `json:"can_send_welcome_messages"`
}

// AllAdminRights are the creator's rights.
func AllAdminRights() AdminRights {
	return AdminRights{
		CanManageChat: true, CanDeleteMessages: true, CanManageVideoChats: true,
		CanRestrictMembers: true, CanPromoteMembers: true, CanChangeInfo: true,
		CanInviteUsers: true, CanPostStories: true, CanEditStories: true,
		CanDeleteStories: true, CanPinMessages: true, CanManageTopics: true,
		CanManageTags: true, CanSendWelcomeMessages: true,
	}
}

// Any reports whether at least one right is granted (IsAnonymous aside).
func (r AdminRights) Any() bool {
	r.IsAnonymous = false
	return r != AdminRights{}
}

// ChatMember is one user's membership in one supergroup, as a copy.
type ChatMember struct {
	ChannelID int64
	User      User
	Status    Status
	// Rights are an administrator's rights (all of them for the creator).
	Rights AdminRights
	// CustomTitle is an administrator's rank.
	CustomTitle string
	// Tag is a regular (or restricted) member's tag (setChatMemberTag).
	Tag string
	// UntilDate ends a ban or restriction; zero means forever.
	UntilDate time.Time
	JoinedAt  time.Time
	// InviterID added or approved the member, or promoted the administrator.
	InviterID int64
	// InviteLink is the link the member joined through, "" if none.
	InviteLink     string
	ViaJoinRequest bool
	// LeftByThemselves is true once the user left on their own.
	LeftByThemselves bool
}

type member struct {
	status     Status
	rights     AdminRights
	rank       string
	until      time.Time
	joinedAt   time.Time
	inviter    int64
	link       string // invite hash
	viaRequest bool
	tag        string // a regular member's tag; cleared by any change of status
}

// memberLocked returns the membership of userID in c, "left" if none, with a
// lapsed ban turned into "left".
func (w *World) memberLocked(c *chat, userID int64) ChatMember {
	cm := ChatMember{ChannelID: c.ID, Status: StatusLeft, LeftByThemselves: c.leftSelf[userID]}
	if u, ok := w.users[userID]; ok {
		cm.User = u.User
	} else {
		cm.User = User{ID: userID}
	}
	m, ok := c.members[userID]
	if !ok {
		return cm
	}
	if (m.status == StatusKicked || m.status == StatusRestricted) && !m.until.IsZero() && !w.now().Before(m.until) {
		if m.status == StatusKicked {
			m.status = StatusLeft
		} else {
			m.status = StatusMember
		}
		m.until = time.Time{}
	}
	cm.Status = m.status
	cm.Rights = m.rights
	cm.CustomTitle = m.rank
	cm.UntilDate = m.until
	cm.JoinedAt = m.joinedAt
	cm.InviterID = m.inviter
	cm.InviteLink = m.link
	cm.ViaJoinRequest = m.viaRequest
	if m.status == StatusMember || m.status == StatusRestricted {
		cm.Tag = m.tag
	}
	if !m.status.IsMember() && m.status != StatusKicked {
		cm.Rights = AdminRights{}
	}
	return cm
}

// setMemberLocked records userID's new membership and keeps the chat's
// indexes (count, admins, bots, members per link) in step.
func (w *World) setMemberLocked(c *chat, userID int64, m *member) {
	old, seen := c.members[userID]
	if !seen {
		c.pos[userID] = len(c.order)
		c.order = append(c.order, userID)
	}
	if seen && old.status.IsMember() {
		c.count--
		if old.link != "" {
			c.byLink[old.link]--
		}
	}
	c.members[userID] = m
	delete(c.admins, userID)
	delete(c.bots, userID)
	if m.status.IsMember() {
		c.count++
		if m.link != "" {
			c.byLink[m.link]++
		}
		delete(c.leftSelf, userID)
		delete(c.requests, userID) // joining settles a pending request
		if u, ok := w.users[userID]; ok && u.IsBot {
			c.bots[userID] = true
		}
	}
	if m.status == StatusCreator || m.status == StatusAdministrator {
		c.admins[userID] = true
	}
}

// statusLocked is userID's status in c without building a ChatMember.
func (w *World) statusLocked(c *chat, userID int64) Status {
	m, ok := c.members[userID]
	if !ok {
		return StatusLeft
	}
	if m.status == StatusKicked || m.status == StatusRestricted {
		return w.memberLocked(c, userID).Status // lapses the ban if due
	}
	return m.status
}

// Member is userID's membership in the channel: "left" for strangers.
func (w *World) Member(channelID, userID int64) ChatMember {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		u := w.users[userID]
		cm := ChatMember{ChannelID: channelID, Status: StatusLeft}
		if u != nil {
			cm.User = u.User
		}
		return cm
	}
	return w.memberLocked(c, userID)
}

// Members lists the people in the chat now (creator, administrators,
// members, restricted), in the order they first appeared.
func (w *World) Members(channelID int64) []ChatMember {
	out, _ := w.page(channelID, func(s Status) bool { return s.IsMember() }, 0, -1)
	return out
}

// Banned lists the people banned from the chat.
func (w *World) Banned(channelID int64) []ChatMember {
	out, _ := w.page(channelID, func(s Status) bool { return s == StatusKicked }, 0, -1)
	return out
}

// Admins lists the creator and administrators, in the order they first
// appeared in the chat.
func (w *World) Admins(channelID int64) []ChatMember {
	return w.indexed(channelID, func(c *chat) map[int64]bool { return c.admins })
}

// BotMembers lists the bots in the chat now.
func (w *World) BotMembers(channelID int64) []ChatMember {
	return w.indexed(channelID, func(c *chat) map[int64]bool { return c.bots })
}

func (w *World) indexed(channelID int64, set func(*chat) map[int64]bool) []ChatMember {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return nil
	}
	ids := make([]int64, 0, len(set(c)))
	for id := range set(c) {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return c.pos[ids[i]] < c.pos[ids[j]] })
	out := make([]ChatMember, 0, len(ids))
	for _, id := range ids {
		out = append(out, w.memberLocked(c, id))
	}
	return out
}

// page lists the chat's users whose status keep accepts, skipping offset of
// them and returning at most limit (all when limit < 0), with the total.
func (w *World) page(channelID int64, keep func(Status) bool, offset, limit int) ([]ChatMember, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return nil, 0
	}
	var out []ChatMember
	total := 0
	for _, id := range c.order {
		if !keep(w.statusLocked(c, id)) {
			continue
		}
		if total >= offset && (limit < 0 || len(out) < limit) {
			out = append(out, w.memberLocked(c, id))
		}
		total++
	}
	return out, total
}

// Participants pages Members: channels.getParticipants(offset, limit),
// returning the page and the total count. limit ≤ 0 or > 200 means 200.
func (w *World) Participants(channelID int64, offset, limit int) ([]ChatMember, int) {
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	return w.page(channelID, func(s Status) bool { return s.IsMember() }, max(offset, 0), limit)
}

// canLocked reports whether actor may act in c with the right.
func canLocked(a ChatMember, right func(AdminRights) bool) bool {
	return a.Status == StatusCreator || (a.Status == StatusAdministrator && right(a.Rights))
}

// actOnLocked looks up the chat, the actor's membership, which must carry
// right (ErrChatAdminRequired for a non-member, else ErrNotEnoughRights),
// and the target's, for PromoteAdmin, Ban and Unban.
func (w *World) actOnLocked(channelID, actorID, targetID int64, right func(AdminRights) bool) (c *chat, actor, target ChatMember, err error) {
	c, ok := w.chats[channelID]
	if !ok {
		return nil, actor, target, ErrChatNotFound
	}
	if _, ok := w.users[targetID]; !ok {
		return nil, actor, target, ErrUserNotFound
	}
	actor = w.memberLocked(c, actorID)
	if !canLocked(actor, right) {
		if actor.Status.IsMember() {
			return nil, actor, target, ErrNotEnoughRights
		}
		return nil, actor, target, ErrChatAdminRequired
	}
	return c, actor, w.memberLocked(c, targetID), nil
}

// PromoteAdmin is promoteChatMember / channels.editAdmin: makes targetID an
// administrator with rights and rank, or with no rights demotes them to a
// member. The actor must be the creator or an administrator with
// can_promote_members. A bot that is not in the chat is added by being
// promoted, as Telegram does; people must already be members.
func (w *World) PromoteAdmin(channelID, actorID, targetID int64, rights AdminRights, rank string) error {
	if len([]rune(rank)) > 16 {
		return BadRequest("ADMIN_RANK_INVALID", "")
	}
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	c, a, old, err := w.actOnLocked(channelID, actorID, targetID, func(r AdminRights) bool { return r.CanPromoteMembers })
	if err != nil {
		return err
	}
	if old.Status == StatusCreator {
		return ErrCantDemoteCreator
	}
	if a.Status == StatusAdministrator && old.Status == StatusAdministrator && old.InviterID != actorID {
		return errf(ErrNotEnoughRights, "CHAT_ADMIN_REQUIRED")
	}
	if a.Status == StatusAdministrator {
		// An administrator can only grant rights they hold.
		if !rightsSubset(rights, a.Rights) {
			return errf(ErrNotEnoughRights, "RIGHT_FORBIDDEN")
		}
	}
	if !old.Status.IsMember() {
		if old.Status == StatusKicked {
			return ErrUserKicked
		}
		if !old.User.IsBot {
			return ErrUserNotParticipant
		}
		if !rights.Any() {
			return ErrUserNotParticipant
		}
		if u := w.users[targetID]; u != nil && u.GroupsBlocked {
			return ErrBotGroupsBlocked
		}
		if w.channelCountLocked(targetID) >= w.limits.ChannelsPerAccount {
			return ErrUserChannelsTooMuch
		}
	}
	if rights.Any() && old.Status != StatusAdministrator {
		admins := 0
		for id := range c.admins {
			if id != c.CreatorID {
				admins++
			}
		}
		if admins >= w.limits.MaxAdmins {
			return ErrAdminsTooMuch
		}
	}
	m := &member{status: StatusMember, joinedAt: old.JoinedAt, inviter: old.InviterID, link: old.InviteLink, viaRequest: old.ViaJoinRequest, tag: old.Tag}
	if !old.Status.IsMember() {
		m.joinedAt = w.now()
		m.inviter = actorID
	}
	if rights.Any() {
		m.status = StatusAdministrator
		m.rights = rights
		m.rank = rank
		m.inviter = actorID
	}
	w.setMemberLocked(c, targetID, m)
	nw := w.memberLocked(c, targetID)
	if old.Status != nw.Status || old.Rights != nw.Rights || old.CustomTitle != nw.CustomTitle {
		w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: nw, Actor: actorID, Date: w.now()})
	}
	return nil
}

func rightsSubset(want, have AdminRights) bool {
	w := []bool{want.CanManageChat, want.CanDeleteMessages, want.CanManageVideoChats, want.CanRestrictMembers, want.CanPromoteMembers, want.CanChangeInfo, want.CanInviteUsers, want.CanPostStories, want.CanEditStories, want.CanDeleteStories, want.CanPinMessages, want.CanManageTopics, want.CanManageTags, want.CanSendWelcomeMessages}
	h := []bool{have.CanManageChat, have.CanDeleteMessages, have.CanManageVideoChats, have.CanRestrictMembers, have.CanPromoteMembers, have.CanChangeInfo, have.CanInviteUsers, have.CanPostStories, have.CanEditStories, have.CanDeleteStories, have.CanPinMessages, have.CanManageTopics, have.CanManageTags, have.CanSendWelcomeMessages}
	for i := range w {
		if w[i] && !h[i] {
			return false
		}
	}
	return true
}

// BanForever is the until time meaning "forever".
var BanForever = time.Time{}

// Ban is banChatMember / channels.editBanned{view_messages}: userID leaves
// the chat (if in it) and cannot come back by link until the ban ends. An
// until less than 30 s or more than 366 days away (or zero) means forever.
// The actor must be the creator or an administrator with
// can_restrict_members; the creator cannot be banned, and administrators
// only by whoever promoted them or the creator.
func (w *World) Ban(channelID, actorID, userID int64, until time.Time) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	c, a, old, err := w.actOnLocked(channelID, actorID, userID, func(r AdminRights) bool { return r.CanRestrictMembers })
	if err != nil {
		return err
	}
	switch {
	case old.Status == StatusCreator:
		return ErrCantRemoveOwner
	case old.Status == StatusAdministrator && a.Status != StatusCreator && old.InviterID != actorID:
		return ErrUserIsAdmin
	case userID == actorID:
		return BadRequest("USER_ADMIN_INVALID", "can't restrict self")
	}
	now := w.now()
	if !until.IsZero() && (until.Sub(now) < 30*time.Second || until.Sub(now) > 366*24*time.Hour) {
		until = time.Time{}
	}
	m := &member{status: StatusKicked, until: until, joinedAt: old.JoinedAt, inviter: actorID}
	w.setMemberLocked(c, userID, m)
	delete(c.requests, userID)
	nw := w.memberLocked(c, userID)
	if old.Status != nw.Status || !old.UntilDate.Equal(nw.UntilDate) {
		w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: nw, Actor: actorID, Date: now})
	}
	return nil
}

// Unban is unbanChatMember: a banned user becomes "left" (free to join by
// link again). Without onlyIfBanned a current member is removed too (a kick),
// as the Bot API does; with it, members are left alone.
func (w *World) Unban(channelID, actorID, userID int64, onlyIfBanned bool) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	c, a, old, err := w.actOnLocked(channelID, actorID, userID, func(r AdminRights) bool { return r.CanRestrictMembers })
	if err != nil {
		return err
	}
	switch old.Status {
	case StatusKicked:
	case StatusLeft:
		return nil
	case StatusCreator:
		if onlyIfBanned {
			return nil
		}
		return ErrCantRemoveOwner
	default:
		if onlyIfBanned {
			return nil
		}
		if old.Status == StatusAdministrator && a.Status != StatusCreator && old.InviterID != actorID {
			return ErrUserIsAdmin
		}
		if userID == actorID {
			return BadRequest("USER_ADMIN_INVALID", "can't remove self")
		}
	}
	w.setMemberLocked(c, userID, &member{status: StatusLeft, joinedAt: old.JoinedAt, inviter: actorID})
	w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: w.memberLocked(c, userID), Actor: actorID, Date: w.now()})
	return nil
}

// Leave is the user leaving the chat by themselves. The creator cannot leave
// in the sandbox (Telegram would transfer or delete the group).
func (w *World) Leave(channelID, userID int64) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return ErrChatNotFound
	}
	old := w.memberLocked(c, userID)
	if !old.Status.IsMember() {
		return ErrUserNotParticipant
	}
	if old.Status == StatusCreator {
		return BadRequest("USER_CREATOR", "the creator can't leave the chat in the sandbox")
	}
	w.setMemberLocked(c, userID, &member{status: StatusLeft, joinedAt: old.JoinedAt})
	c.leftSelf[userID] = true
	w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: w.memberLocked(c, userID), Actor: userID, Date: w.now()})
	return nil
}

// MissingInvitee is a person AddMembers could not add, and why
// (USER_PRIVACY_RESTRICTED, USER_NOT_MUTUAL_CONTACT, USER_CHANNELS_TOO_MUCH,
// USER_ID_INVALID). The MTProto server reports them as missing_invitees.
type MissingInvitee struct {
	UserID int64
	Reason string
}

// AddMembers is channels.inviteToChannel. The actor needs can_invite_users.
// Whole-call refusals are returned as *Error: USERS_TOO_MUCH (more than
// Limits.MaxInvitePerCall people, or the chat would exceed
// Limits.MaxMembers), USER_KICKED (someone is banned), PEER_FLOOD (the actor
// added Limits.PeerFloodAfter people in the last 24 hours). People already
// in the chat are skipped. Others are added or reported in missing:
// privacy "nobody" → USER_PRIVACY_RESTRICTED; "contacts" unless they have
// the actor as a contact → USER_PRIVACY_RESTRICTED; left by themselves and
// not a mutual contact → USER_NOT_MUTUAL_CONTACT; in too many channels →
// USER_CHANNELS_TOO_MUCH.
func (w *World) AddMembers(channelID, actorID int64, userIDs []int64) (added []int64, missing []MissingInvitee, err error) {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return nil, nil, ErrChatNotFound
	}
	actor, ok := w.users[actorID]
	if !ok {
		return nil, nil, ErrUserNotFound
	}
	a := w.memberLocked(c, actorID)
	if !canLocked(a, func(r AdminRights) bool { return r.CanInviteUsers }) {
		return nil, nil, ErrChatAdminRequired
	}
	if len(userIDs) == 0 {
		return nil, nil, BadRequest("USERS_TOO_FEW", "")
	}
	if len(userIDs) > w.limits.MaxInvitePerCall {
		return nil, nil, ErrUsersTooMuch
	}
	for _, id := range userIDs {
		if _, ok := w.users[id]; ok && w.memberLocked(c, id).Status == StatusKicked {
			return nil, nil, ErrUserKicked
		}
	}
	now := w.now()
	recent := w.recentAddsLocked(actorID, now)
	count := c.count
	for _, id := range userIDs {
		u, ok := w.users[id]
		if !ok {
			missing = append(missing, MissingInvitee{UserID: id, Reason: "USER_ID_INVALID"})
			continue
		}
		old := w.memberLocked(c, id)
		if old.Status.IsMember() {
			continue
		}
		if count >= w.limits.MaxMembers {
			return added, missing, ErrUsersTooMuch
		}
		mutual := u.contacts[actorID] && actor.contacts[id]
		switch {
		case u.Privacy == PrivacyNobody && !u.IsBot:
			missing = append(missing, MissingInvitee{UserID: id, Reason: "USER_PRIVACY_RESTRICTED"})
			continue
		case u.Privacy == PrivacyContacts && !u.contacts[actorID]:
			missing = append(missing, MissingInvitee{UserID: id, Reason: "USER_PRIVACY_RESTRICTED"})
			continue
		case old.LeftByThemselves && !mutual:
			missing = append(missing, MissingInvitee{UserID: id, Reason: "USER_NOT_MUTUAL_CONTACT"})
			continue
		case w.channelCountLocked(id) >= w.limits.ChannelsPerAccount:
			missing = append(missing, MissingInvitee{UserID: id, Reason: "USER_CHANNELS_TOO_MUCH"})
			continue
		}
		if recent >= w.limits.PeerFloodAfter {
			return added, missing, ErrPeerFlood
		}
		recent++
		w.adds[actorID] = append(w.adds[actorID], now)
		w.setMemberLocked(c, id, &member{status: StatusMember, joinedAt: now, inviter: actorID})
		count++
		added = append(added, id)
		w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: w.memberLocked(c, id), Actor: actorID, Date: now})
	}
	return added, missing, nil
}

// recentAddsLocked counts the adds by actor in the last 24 hours, dropping
// older ones.
func (w *World) recentAddsLocked(actorID int64, now time.Time) int {
	ts := w.adds[actorID]
	i := sort.Search(len(ts), func(i int) bool { return now.Sub(ts[i]) < 24*time.Hour })
	if i == len(ts) {
		delete(w.adds, actorID) // keep only the accounts that added lately
	} else {
		w.adds[actorID] = ts[i:]
	}
	return len(ts) - i
}
