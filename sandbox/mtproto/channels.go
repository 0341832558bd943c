package mtproto

import (
	"context"
	"strings"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Supergroups: channels.* and messages.exportChatInvite.

// maxParticipantsPage is the most channels.getParticipants returns at once.
const maxParticipantsPage = 200

func (s *Server) channelsCreateChannel(ctx context.Context, c *call, req *tg.ChannelsCreateChannelRequest) (bin.Encoder, error) {
	if !req.Megagroup || req.Broadcast || req.Forum {
		// The sandbox has supergroups only.
		return nil, rpcError(400, "MEGAGROUP_REQUIRED")
	}
	if len([]rune(req.About)) > 255 {
		return nil, rpcError(400, "CHAT_ABOUT_TOO_LONG")
	}
	ch, err := s.w.CreateSupergroup(c.userID, req.Title, req.About)
	if err != nil {
		return nil, err
	}
	return s.channelUpdates(c.userID, ch.ID, 0), nil
}

func (s *Server) channelsEditAdmin(ctx context.Context, c *call, req *tg.ChannelsEditAdminRequest) (bin.Encoder, error) {
	ch, _, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	u, err := s.inputUser(req.UserID, c.userID)
	if err != nil {
		return nil, err
	}
	if len([]rune(req.Rank)) > 16 {
		return nil, rpcError(400, "ADMIN_RANK_INVALID")
	}
	pts := s.channelPts(ch.ID)
	if err := s.w.PromoteAdmin(ch.ID, c.userID, u.ID, adminRightsWorld(req.AdminRights), req.Rank); err != nil {
		return nil, err
	}
	return s.channelUpdates(c.userID, ch.ID, pts, u.ID), nil
}

// channelsInviteToChannel adds people. As on Telegram, people whose
// privacy settings forbid it come back in missing_invitees; if nobody could
// be added and someone was refused for another reason (left by themselves
// and not a mutual contact, too many channels), the call fails with it.
func (s *Server) channelsInviteToChannel(ctx context.Context, c *call, req *tg.ChannelsInviteToChannelRequest) (bin.Encoder, error) {
	ch, _, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	if len(req.Users) == 0 {
		return nil, rpcError(400, "USERS_TOO_FEW")
	}
	ids := make([]int64, 0, len(req.Users))
	for _, in := range req.Users {
		u, err := s.inputUser(in, c.userID)
		if err != nil {
			return nil, err
		}
		if u.ID == c.userID {
			return nil, rpcError(400, "USER_ALREADY_PARTICIPANT")
		}
		ids = append(ids, u.ID)
	}
	pts := s.channelPts(ch.ID)
	added, missing, err := s.w.AddMembers(ch.ID, c.userID, ids)
	if err != nil {
		return nil, err
	}
	out := &tg.MessagesInvitedUsers{MissingInvitees: []tg.MissingInvitee{}}
	for _, m := range missing {
		switch m.Reason {
		case "USER_PRIVACY_RESTRICTED":
			out.MissingInvitees = append(out.MissingInvitees, tg.MissingInvitee{UserID: m.UserID})
		default:
			if len(added) == 0 {
				return nil, world.BadRequest(m.Reason, "")
			}
			out.MissingInvitees = append(out.MissingInvitees, tg.MissingInvitee{UserID: m.UserID})
		}
	}
	out.Updates = s.channelUpdates(c.userID, ch.ID, pts, added...)
	return out, nil
}

// channelsEditBanned bans (view_messages, until_date) or lifts a ban (no
// rights). Partial restrictions are not emulated: BANNED_RIGHTS_INVALID.
func (s *Server) channelsEditBanned(ctx context.Context, c *call, req *tg.ChannelsEditBannedRequest) (bin.Encoder, error) {
	ch, _, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	u, err := s.inputPeerUser(req.Participant, c.userID)
	if err != nil {
		return nil, err
	}
	if u.ID == c.userID {
		return nil, rpcError(400, "USER_ADMIN_INVALID")
	}
	pts := s.channelPts(ch.ID)
	rights := req.BannedRights
	until := rights.UntilDate
	rights.UntilDate = 0
	rights.Flags = 0
	switch {
	case rights.ViewMessages:
		var t time.Time
		if until > 0 {
			t = time.Unix(int64(until), 0)
		}
		err = s.w.Ban(ch.ID, c.userID, u.ID, t)
	case rights == tg.ChatBannedRights{}:
		err = s.w.Unban(ch.ID, c.userID, u.ID, true)
	default:
		return nil, rpcError(400, "BANNED_RIGHTS_INVALID")
	}
	if err != nil {
		return nil, err
	}
	return s.channelUpdates(c.userID, ch.ID, pts, u.ID), nil
}

func (s *Server) channelsGetParticipants(ctx context.Context, c *call, req *tg.ChannelsGetParticipantsRequest) (bin.Encoder, error) {
	ch, me, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	if req.Offset < 0 {
		return nil, rpcError(400, "OFFSET_INVALID")
	}
	if req.Limit < 0 {
		return nil, rpcError(400, "LIMIT_INVALID")
	}
	limit := min(req.Limit, maxParticipantsPage)
	isAdmin := me.Status == world.StatusCreator || me.Status == world.StatusAdministrator
	match := func(m world.ChatMember, q string) bool {
		if q == "" {
			return true
		}
		q = strings.ToLower(q)
		u := m.User
		return strings.Contains(strings.ToLower(u.FirstName+" "+u.LastName), q) ||
			strings.Contains(strings.ToLower(u.Username), q)
	}
	var all []world.ChatMember
	switch f := req.Filter.(type) {
	case *tg.ChannelParticipantsRecent:
		all = s.w.Members(ch.ID)
	case *tg.ChannelParticipantsAdmins:
		all = s.w.Admins(ch.ID)
	case *tg.ChannelParticipantsBots:
		for _, m := range s.w.Members(ch.ID) {
			if m.User.IsBot {
				all = append(all, m)
			}
		}
	case *tg.ChannelParticipantsSearch:
		for _, m := range s.w.Members(ch.ID) {
			if match(m, f.Q) {
				all = append(all, m)
			}
		}
	case *tg.ChannelParticipantsContacts:
		for _, m := range s.w.Members(ch.ID) {
			if s.w.IsContact(c.userID, m.User.ID) && match(m, f.Q) {
				all = append(all, m)
			}
		}
	case *tg.ChannelParticipantsKicked:
		if !isAdmin {
			return nil, rpcError(400, "CHAT_ADMIN_REQUIRED")
		}
		for _, m := range s.w.Banned(ch.ID) {
			if match(m, f.Q) {
				all = append(all, m)
			}
		}
	case *tg.ChannelParticipantsBanned:
		if !isAdmin {
			return nil, rpcError(400, "CHAT_ADMIN_REQUIRED")
		}
		for _, m := range s.w.Members(ch.ID) {
			if m.Status == world.StatusRestricted && match(m, f.Q) {
				all = append(all, m)
			}
		}
	default:
		return nil, rpcError(400, "INPUT_FILTER_INVALID")
	}
	out := &tg.ChannelsChannelParticipants{Count: len(all), Participants: []tg.ChannelParticipantClass{}, Chats: []tg.ChatClass{}}
	ids := []int64{}
	if req.Offset < len(all) {
		for _, m := range all[req.Offset:min(len(all), req.Offset+limit)] {
			out.Participants = append(out.Participants, participantTG(m, c.userID, me.Status))
			ids = append(ids, m.User.ID, m.InviterID)
		}
	}
	out.Users = s.usersTG(c.userID, ids...)
	if out.Users == nil {
		out.Users = []tg.UserClass{}
	}
	return out, nil
}

func (s *Server) channelsGetParticipant(ctx context.Context, c *call, req *tg.ChannelsGetParticipantRequest) (bin.Encoder, error) {
	ch, me, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	u, err := s.inputPeerUser(req.Participant, c.userID)
	if err != nil {
		return nil, err
	}
	m := s.w.Member(ch.ID, u.ID)
	if !m.Status.IsMember() && m.Status != world.StatusKicked {
		return nil, rpcError(400, "USER_NOT_PARTICIPANT")
	}
	return &tg.ChannelsChannelParticipant{
		Participant: participantTG(m, c.userID, me.Status),
		Chats:       []tg.ChatClass{},
		Users:       s.usersTG(c.userID, u.ID, m.InviterID),
	}, nil
}

func (s *Server) channelsGetChannels(ctx context.Context, c *call, req *tg.ChannelsGetChannelsRequest) (bin.Encoder, error) {
	out := &tg.MessagesChats{Chats: []tg.ChatClass{}}
	for _, in := range req.ID {
		ch, err := s.inputChannel(in)
		if err != nil {
			return nil, err
		}
		out.Chats = append(out.Chats, s.channelTG(ch, c.userID))
	}
	return out, nil
}

func (s *Server) channelsGetFullChannel(ctx context.Context, c *call, req *tg.ChannelsGetFullChannelRequest) (bin.Encoder, error) {
	ch, me, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	isAdmin := me.Status == world.StatusCreator || me.Status == world.StatusAdministrator
	full := &tg.ChannelFull{
		ID:                  ch.ID,
		About:               ch.About,
		ParticipantsCount:   ch.MembersCount,
		AdminsCount:         len(s.w.Admins(ch.ID)),
		ChatPhoto:           &tg.PhotoEmpty{},
		NotifySettings:      tg.PeerNotifySettings{},
		BotInfo:             []tg.BotInfo{},
		CanViewParticipants: true,
		Pts:                 s.channelPts(ch.ID),
	}
	if isAdmin {
		full.KickedCount = len(s.w.Banned(ch.ID))
		full.RequestsPending = len(s.w.JoinRequests(ch.ID))
		if l, ok := s.w.PrimaryInvite(ch.ID); ok {
			full.ExportedInvite = inviteTG(l)
		}
	}
	return &tg.MessagesChatFull{
		FullChat: full,
		Chats:    []tg.ChatClass{s.channelTG(ch, c.userID)},
		Users:    s.usersTG(c.userID, c.userID),
	}, nil
}

func (s *Server) channelsLeaveChannel(ctx context.Context, c *call, req *tg.ChannelsLeaveChannelRequest) (bin.Encoder, error) {
	ch, _, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	pts := s.channelPts(ch.ID)
	if err := s.w.Leave(ch.ID, c.userID); err != nil {
		return nil, err
	}
	return s.channelUpdates(c.userID, ch.ID, pts), nil
}

// messagesExportChatInvite creates an invite link for a supergroup:
// legacy_revoke_permanent without other parameters replaces the primary
// link, anything else creates an additional link.
func (s *Server) messagesExportChatInvite(ctx context.Context, c *call, req *tg.MessagesExportChatInviteRequest) (bin.Encoder, error) {
	ch, err := s.inputPeerChannel(req.Peer)
	if err != nil {
		return nil, err
	}
	if !s.w.Member(ch.ID, c.userID).Status.IsMember() {
		return nil, errChannelPrivate
	}
	if req.LegacyRevokePermanent && !req.RequestNeeded && req.ExpireDate == 0 && req.UsageLimit == 0 && req.Title == "" {
		l, err := s.w.ExportPrimaryInvite(ch.ID, c.userID)
		if err != nil {
			return nil, err
		}
		return inviteTG(l), nil
	}
	spec := world.InviteLinkSpec{Name: req.Title, MemberLimit: req.UsageLimit, CreatesJoinRequest: req.RequestNeeded}
	if req.ExpireDate != 0 {
		spec.ExpireDate = time.Unix(int64(req.ExpireDate), 0)
	}
	l, err := s.w.CreateInviteLink(ch.ID, c.userID, spec)
	if err != nil {
		return nil, err
	}
	return inviteTG(l), nil
}
