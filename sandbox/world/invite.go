package world

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// InviteLink is a chat's invite link, as a copy.
type InviteLink struct {
	// Link is the full URL, https://t.me/+<hash>.
	Link               string
	Hash               string
	ChannelID          int64
	CreatorID          int64
	Name               string
	ExpireDate         time.Time // zero: never
	MemberLimit        int       // zero: no limit
	CreatesJoinRequest bool
	IsPrimary          bool
	IsRevoked          bool
	Date               time.Time
	// Members counts people now in the chat who joined through the link.
	Members int
	// PendingJoinRequests counts pending requests through the link.
	PendingJoinRequests int
}

// InviteLinkSpec is what createChatInviteLink and editChatInviteLink take.
type InviteLinkSpec struct {
	Name               string
	ExpireDate         time.Time
	MemberLimit        int
	CreatesJoinRequest bool
}

// JoinRequest is a pending request to join.
type JoinRequest struct {
	ChannelID  int64
	UserID     int64
	InviteLink string // hash
	Date       time.Time
}

// JoinResult is what happened when someone opened an invite link.
type JoinResult struct {
	// Result is "joined", "requested" or "refused".
	Result string `json:"result"`
	// Reason is the MTProto error behind a refusal, e.g. INVITE_HASH_EXPIRED.
	Reason    string `json:"reason,omitempty"`
	ChannelID int64  `json:"-"`
}

type inviteLink struct {
	InviteLink
}

const linkPrefix = "https://t.me/+"

// InviteHash extracts the hash from https://t.me/+HASH, t.me/joinchat/HASH,
// tg://join?invite=HASH or a bare hash.
func InviteHash(link string) string {
	s := strings.TrimSpace(link)
	for _, p := range []string{"https://", "http://", "tg://join?invite="} {
		s = strings.TrimPrefix(s, p)
	}
	for _, p := range []string{"t.me/+", "telegram.me/+", "t.me/joinchat/", "telegram.me/joinchat/", "+"} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

func (w *World) linkLocked(l *inviteLink) InviteLink {
	out := l.InviteLink
	c := w.chats[l.ChannelID]
	out.Members, out.PendingJoinRequests = 0, 0
	if c != nil {
		out.Members = c.byLink[l.Hash]
		for _, r := range c.requests {
			if r.InviteLink == l.Hash {
				out.PendingJoinRequests++
			}
		}
	}
	return out
}

func validateLinkSpec(spec InviteLinkSpec, now time.Time) error {
	if utf8.RuneCountInString(spec.Name) > 32 {
		return BadRequest("INVITE_LINK_NAME_INVALID", "invite link name is too long")
	}
	if spec.MemberLimit < 0 || spec.MemberLimit > 99999 {
		return BadRequest("USAGE_LIMIT_INVALID", "parameter \"member_limit\" must be between 1 and 99999")
	}
	if spec.MemberLimit > 0 && spec.CreatesJoinRequest {
		return BadRequest("USAGE_LIMIT_INVALID", "member limit can't be specified for links requiring administrator approval")
	}
	if !spec.ExpireDate.IsZero() && !spec.ExpireDate.After(now) {
		return BadRequest("EXPIRE_DATE_INVALID", "")
	}
	return nil
}

// CreateInviteLink is createChatInviteLink / messages.exportChatInvite with
// parameters. The creator needs can_invite_users; about
// Limits.InviteLinksPerMinPerChat links per minute per chat, then 429.
func (w *World) CreateInviteLink(channelID, creatorID int64, spec InviteLinkSpec) (InviteLink, error) {
	if err := validateLinkSpec(spec, w.now()); err != nil {
		return InviteLink{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.inviterLocked(channelID, creatorID)
	if err != nil {
		return InviteLink{}, err
	}
	per := w.limits.InviteLinksPerMinPerChat
	if wait := w.limiter.window(linkKey(channelID), per, time.Minute, w.now()); wait > 0 {
		return InviteLink{}, TooManyRequests(wait)
	}
	l := w.newLinkLocked(c, creatorID, spec, false)
	return w.linkLocked(l), nil
}

func linkKey(channelID int64) string { return "invite_links:" + itoa(channelID) }

func (w *World) newLinkLocked(c *chat, creatorID int64, spec InviteLinkSpec, primary bool) *inviteLink {
	hash := w.randString(16, urlsafe)
	for w.links[hash] != nil {
		hash = w.randString(16, urlsafe)
	}
	l := &inviteLink{InviteLink: InviteLink{
		Link:               linkPrefix + hash,
		Hash:               hash,
		ChannelID:          c.ID,
		CreatorID:          creatorID,
		Name:               spec.Name,
		ExpireDate:         spec.ExpireDate,
		MemberLimit:        spec.MemberLimit,
		CreatesJoinRequest: spec.CreatesJoinRequest,
		IsPrimary:          primary,
		Date:               w.now(),
	}}
	w.links[hash] = l
	if primary {
		c.primary = hash
	}
	return l
}

func (w *World) inviterLocked(channelID, actorID int64) (*chat, error) {
	c, ok := w.chats[channelID]
	if !ok {
		return nil, ErrChatNotFound
	}
	a := w.memberLocked(c, actorID)
	if !canLocked(a, func(r AdminRights) bool { return r.CanInviteUsers }) {
		if a.Status.IsMember() {
			return nil, ErrNotEnoughRights
		}
		return nil, ErrChatAdminRequired
	}
	return c, nil
}

func (w *World) ownLinkLocked(channelID, actorID int64, link string) (*inviteLink, error) {
	l, ok := w.links[InviteHash(link)]
	if !ok || l.ChannelID != channelID {
		return nil, BadRequest("INVITE_HASH_EXPIRED", "INVITE_HASH_EXPIRED")
	}
	c := w.chats[channelID]
	if a := w.memberLocked(c, actorID); a.Status != StatusCreator && l.CreatorID != actorID {
		if !canLocked(a, func(r AdminRights) bool { return r.CanManageChat }) {
			return nil, ErrChatAdminRequired
		}
	}
	return l, nil
}

// EditInviteLink is editChatInviteLink: replaces name, expiry, limit and
// the join-request flag of a link that is not revoked.
func (w *World) EditInviteLink(channelID, actorID int64, link string, spec InviteLinkSpec) (InviteLink, error) {
	if err := validateLinkSpec(spec, w.now()); err != nil {
		return InviteLink{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.inviterLocked(channelID, actorID); err != nil {
		return InviteLink{}, err
	}
	l, err := w.ownLinkLocked(channelID, actorID, link)
	if err != nil {
		return InviteLink{}, err
	}
	if l.IsRevoked {
		return InviteLink{}, BadRequest("INVITE_REVOKED_MISSING", "")
	}
	if l.IsPrimary {
		return InviteLink{}, BadRequest("CHAT_INVITE_PERMANENT", "")
	}
	l.Name, l.ExpireDate, l.MemberLimit, l.CreatesJoinRequest = spec.Name, spec.ExpireDate, spec.MemberLimit, spec.CreatesJoinRequest
	return w.linkLocked(l), nil
}

// RevokeInviteLink is revokeChatInviteLink: the link stops working. Revoking
// the primary link makes a new primary one.
func (w *World) RevokeInviteLink(channelID, actorID int64, link string) (InviteLink, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.inviterLocked(channelID, actorID)
	if err != nil {
		return InviteLink{}, err
	}
	l, err := w.ownLinkLocked(channelID, actorID, link)
	if err != nil {
		return InviteLink{}, err
	}
	l.IsRevoked = true
	if l.IsPrimary {
		l.IsPrimary = false
		w.newLinkLocked(c, actorID, InviteLinkSpec{}, true)
	}
	return w.linkLocked(l), nil
}

// ExportPrimaryInvite is exportChatInviteLink: a new primary link replaces
// (and revokes) the old one.
func (w *World) ExportPrimaryInvite(channelID, actorID int64) (InviteLink, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.inviterLocked(channelID, actorID)
	if err != nil {
		return InviteLink{}, err
	}
	if old, ok := w.links[c.primary]; ok {
		old.IsRevoked = true
		old.IsPrimary = false
	}
	return w.linkLocked(w.newLinkLocked(c, actorID, InviteLinkSpec{}, true)), nil
}

// PrimaryInvite returns the chat's primary link, creating it if needed, on
// behalf of the creator (getChat's invite_link).
func (w *World) PrimaryInvite(channelID int64) (InviteLink, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return InviteLink{}, false
	}
	l, ok := w.links[c.primary]
	if !ok {
		l = w.newLinkLocked(c, c.CreatorID, InviteLinkSpec{}, true)
	}
	return w.linkLocked(l), true
}

// InviteLink looks a link up by URL or hash.
func (w *World) InviteLink(link string) (InviteLink, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.links[InviteHash(link)]
	if !ok {
		return InviteLink{}, false
	}
	return w.linkLocked(l), true
}

// InviteLinks lists a chat's links, oldest first.
func (w *World) InviteLinks(channelID int64) []InviteLink {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []InviteLink
	for _, l := range w.links {
		if l.ChannelID == channelID {
			out = append(out, w.linkLocked(l))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.Before(out[j].Date)
		}
		return out[i].Hash < out[j].Hash
	})
	return out
}

// JoinByLink is a person opening an invite link (messages.importChatInvite):
// "joined", "requested" (a pending join request, for creates_join_request
// links) or "refused" with the reason: INVITE_HASH_INVALID (unknown),
// INVITE_HASH_EXPIRED (revoked, expired or member_limit reached),
// USER_BANNED_IN_CHANNEL (banned), USER_ALREADY_PARTICIPANT,
// INVITE_REQUEST_SENT (already pending), CHANNELS_TOO_MUCH. err is for
// an unknown user only.
func (w *World) JoinByLink(userID int64, link string) (JoinResult, error) {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.users[userID]; !ok {
		return JoinResult{}, ErrUserNotFound
	}
	refuse := func(reason string, ch int64) (JoinResult, error) {
		return JoinResult{Result: "refused", Reason: reason, ChannelID: ch}, nil
	}
	l, ok := w.links[InviteHash(link)]
	if !ok {
		return refuse("INVITE_HASH_INVALID", 0)
	}
	c := w.chats[l.ChannelID]
	now := w.now()
	old := w.memberLocked(c, userID)
	switch {
	case old.Status == StatusKicked:
		return refuse("USER_BANNED_IN_CHANNEL", c.ID)
	case old.Status.IsMember():
		return refuse("USER_ALREADY_PARTICIPANT", c.ID)
	case l.IsRevoked, !l.ExpireDate.IsZero() && !now.Before(l.ExpireDate):
		return refuse("INVITE_HASH_EXPIRED", c.ID)
	case l.MemberLimit > 0 && c.byLink[l.Hash] >= l.MemberLimit:
		return refuse("INVITE_HASH_EXPIRED", c.ID)
	case w.channelCountLocked(userID) >= w.limits.ChannelsPerAccount:
		return refuse("CHANNELS_TOO_MUCH", c.ID)
	case c.count >= w.limits.MaxMembers:
		return refuse("USERS_TOO_MUCH", c.ID)
	}
	if l.CreatesJoinRequest {
		if _, pending := c.requests[userID]; pending {
			return refuse("INVITE_REQUEST_SENT", c.ID)
		}
		c.lastRequest[userID] = now
		r := &JoinRequest{ChannelID: c.ID, UserID: userID, InviteLink: l.Hash, Date: now}
		c.requests[userID] = r
		queryID, guard := w.startJoinQueryLocked(c, r)
		snap := w.linkLocked(l)
		w.emitLocked(JoinRequested{ChannelID: c.ID, UserID: userID, InviteLink: &snap, Date: now, QueryID: queryID, GuardBotID: guard})
		return JoinResult{Result: "requested", ChannelID: c.ID}, nil
	}
	w.setMemberLocked(c, userID, &member{status: StatusMember, joinedAt: now, inviter: l.CreatorID, link: l.Hash})
	snap := w.linkLocked(l)
	w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: w.memberLocked(c, userID), Actor: userID, InviteLink: &snap, Date: now})
	return JoinResult{Result: "joined", ChannelID: c.ID}, nil
}

// JoinRequests lists a chat's pending join requests, oldest first.
func (w *World) JoinRequests(channelID int64) []JoinRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return nil
	}
	out := make([]JoinRequest, 0, len(c.requests))
	for _, r := range c.requests {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.Before(out[j].Date)
		}
		return out[i].UserID < out[j].UserID
	})
	return out
}

// ApproveJoinRequest lets a pending requester in; the actor needs
// can_invite_users. HIDE_REQUESTER_MISSING when there is no such request.
func (w *World) ApproveJoinRequest(channelID, actorID, userID int64) error {
	return w.resolveJoinRequest(channelID, actorID, userID, true)
}

// DeclineJoinRequest drops a pending request.
func (w *World) DeclineJoinRequest(channelID, actorID, userID int64) error {
	return w.resolveJoinRequest(channelID, actorID, userID, false)
}

func (w *World) resolveJoinRequest(channelID, actorID, userID int64, approve bool) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.resolveJoinRequestLocked(channelID, actorID, userID, approve)
}

func (w *World) resolveJoinRequestLocked(channelID, actorID, userID int64, approve bool) error {
	c, err := w.inviterLocked(channelID, actorID)
	if err != nil {
		return err
	}
	if _, ok := w.users[userID]; !ok {
		return ErrUserNotFound
	}
	r, ok := c.requests[userID]
	if !ok {
		return ErrHideRequesterMissing
	}
	now := w.now()
	old := w.memberLocked(c, userID)
	if approve {
		switch {
		case old.Status == StatusCreator || old.Status == StatusAdministrator:
			delete(c.requests, userID)
			return ErrUserIsAdmin
		case old.Status.IsMember():
			delete(c.requests, userID)
			return ErrUserAlreadyMember
		case w.channelCountLocked(userID) >= w.limits.ChannelsPerAccount:
			return ErrUserChannelsTooMuch
		case c.count >= w.limits.MaxMembers:
			return ErrUsersTooMuch
		}
	}
	delete(c.requests, userID)
	w.emitLocked(JoinRequestResolved{ChannelID: c.ID, UserID: userID, Actor: actorID, Approved: approve, Date: now})
	if !approve {
		return nil
	}
	w.setMemberLocked(c, userID, &member{status: StatusMember, joinedAt: now, inviter: actorID, link: r.InviteLink, viaRequest: true})
	var snap *InviteLink
	if l, ok := w.links[r.InviteLink]; ok {
		s := w.linkLocked(l)
		snap = &s
	}
	w.emitLocked(MemberChanged{ChannelID: c.ID, Old: old, New: w.memberLocked(c, userID), Actor: actorID, InviteLink: snap, ViaJoinRequest: true, Date: now})
	return nil
}
