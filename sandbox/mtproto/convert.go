package mtproto

import (
	"time"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Conversions from the world's types to Telegram's, as seen by viewer.

func unix(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return int(t.Unix())
}

// userTG is u as viewer sees it: the phone only for themselves and their
// contacts, as Telegram's default privacy does.
func (s *Server) userTG(u world.User, viewer int64) *tg.User {
	out := &tg.User{
		ID:         u.ID,
		AccessHash: u.AccessHash,
		FirstName:  u.FirstName,
		LastName:   u.LastName,
		Username:   u.Username,
		Bot:        u.IsBot,
		Self:       u.ID == viewer,
		LangCode:   u.LanguageCode,
	}
	if u.IsBot {
		out.BotInfoVersion = 1
	}
	contact := viewer != 0 && s.w.IsContact(viewer, u.ID)
	out.Contact = contact
	out.MutualContact = contact && s.w.IsContact(u.ID, viewer)
	if u.ID == viewer || contact {
		out.Phone = u.Phone
	}
	return out
}

func (s *Server) usersTG(viewer int64, ids ...int64) []tg.UserClass {
	seen := map[int64]bool{}
	var out []tg.UserClass
	for _, id := range ids {
		if id == 0 || seen[id] {
			continue
		}
		seen[id] = true
		if u, ok := s.w.User(id); ok {
			out = append(out, s.userTG(u, viewer))
		}
	}
	return out
}

// channelTG is the supergroup as viewer sees it; a banned viewer sees
// channelForbidden.
func (s *Server) channelTG(c world.Chat, viewer int64) tg.ChatClass {
	m := s.w.Member(c.ID, viewer)
	if m.Status == world.StatusKicked {
		return &tg.ChannelForbidden{
			ID: c.ID, AccessHash: c.AccessHash, Title: c.Title, Megagroup: true,
			UntilDate: unix(m.UntilDate),
		}
	}
	out := &tg.Channel{
		ID:                c.ID,
		AccessHash:        c.AccessHash,
		Title:             c.Title,
		Megagroup:         true,
		Date:              unix(c.Date),
		Photo:             &tg.ChatPhotoEmpty{},
		Creator:           m.Status == world.StatusCreator,
		Left:              !m.Status.IsMember(),
		ParticipantsCount: c.MembersCount,
	}
	if m.Status == world.StatusCreator || m.Status == world.StatusAdministrator {
		out.AdminRights = adminRightsTG(m.Rights)
	}
	return out
}

func (s *Server) chatsTG(viewer int64, ids ...int64) []tg.ChatClass {
	var out []tg.ChatClass
	for _, id := range ids {
		if c, ok := s.w.Chat(id); ok {
			out = append(out, s.channelTG(c, viewer))
		}
	}
	return out
}

func adminRightsTG(r world.AdminRights) tg.ChatAdminRights {
	return tg.ChatAdminRights{
		ChangeInfo:     r.CanChangeInfo,
		DeleteMessages: r.CanDeleteMessages,
		BanUsers:       r.CanRestrictMembers,
		InviteUsers:    r.CanInviteUsers,
		PinMessages:    r.CanPinMessages,
		AddAdmins:      r.CanPromoteMembers,
		Anonymous:      r.IsAnonymous,
		ManageCall:     r.CanManageVideoChats,
		Other:          r.CanManageChat,
		ManageTopics:   r.CanManageTopics,
		PostStories:    r.CanPostStories,
		EditStories:    r.CanEditStories,
		DeleteStories:  r.CanDeleteStories,
		ManageRanks:    r.CanManageTags,
	}
}

func adminRightsWorld(r tg.ChatAdminRights) world.AdminRights {
	return world.AdminRights{
		CanChangeInfo:       r.ChangeInfo,
		CanDeleteMessages:   r.DeleteMessages,
		CanRestrictMembers:  r.BanUsers,
		CanInviteUsers:      r.InviteUsers,
		CanPinMessages:      r.PinMessages,
		CanPromoteMembers:   r.AddAdmins,
		IsAnonymous:         r.Anonymous,
		CanManageVideoChats: r.ManageCall,
		// Any admin right implies managing the chat, as on Telegram.
		CanManageChat:    r.Other || (r != tg.ChatAdminRights{}),
		CanManageTopics:  r.ManageTopics,
		CanPostStories:   r.PostStories,
		CanEditStories:   r.EditStories,
		CanDeleteStories: r.DeleteStories,
		CanManageTags:    r.ManageRanks,
	}
}

// participantTG is m as a channelParticipant* seen by viewer.
func participantTG(m world.ChatMember, viewer int64, viewerStatus world.Status) tg.ChannelParticipantClass {
	uid := m.User.ID
	switch m.Status {
	case world.StatusCreator:
		return &tg.ChannelParticipantCreator{UserID: uid, AdminRights: adminRightsTG(m.Rights), Rank: m.CustomTitle}
	case world.StatusAdministrator:
		return &tg.ChannelParticipantAdmin{
			UserID:      uid,
			Self:        uid == viewer,
			CanEdit:     viewerStatus == world.StatusCreator || m.InviterID == viewer,
			InviterID:   m.InviterID,
			PromotedBy:  m.InviterID,
			Date:        unix(m.JoinedAt),
			AdminRights: adminRightsTG(m.Rights),
			Rank:        m.CustomTitle,
		}
	case world.StatusRestricted:
		return &tg.ChannelParticipantBanned{
			Peer: &tg.PeerUser{UserID: uid}, KickedBy: m.InviterID, Date: unix(m.JoinedAt),
			BannedRights: tg.ChatBannedRights{SendMessages: true, UntilDate: unix(m.UntilDate)},
		}
	case world.StatusKicked:
		return &tg.ChannelParticipantBanned{
			Left: true, Peer: &tg.PeerUser{UserID: uid}, KickedBy: m.InviterID, Date: unix(m.JoinedAt),
			BannedRights: tg.ChatBannedRights{ViewMessages: true, UntilDate: unix(m.UntilDate)},
		}
	case world.StatusLeft:
		return &tg.ChannelParticipantLeft{Peer: &tg.PeerUser{UserID: uid}}
	}
	if uid == viewer {
		return &tg.ChannelParticipantSelf{UserID: uid, InviterID: m.InviterID, Date: unix(m.JoinedAt), Rank: m.Tag}
	}
	return &tg.ChannelParticipant{UserID: uid, Date: unix(m.JoinedAt), Rank: m.Tag}
}

func inviteTG(l world.InviteLink) *tg.ChatInviteExported {
	return &tg.ChatInviteExported{
		Revoked:       l.IsRevoked,
		Permanent:     l.IsPrimary,
		RequestNeeded: l.CreatesJoinRequest,
		Link:          l.Link,
		AdminID:       l.CreatorID,
		Date:          unix(l.Date),
		ExpireDate:    unix(l.ExpireDate),
		UsageLimit:    l.MemberLimit,
		Usage:         l.Members,
		Requested:     l.PendingJoinRequests,
		Title:         l.Name,
	}
}
