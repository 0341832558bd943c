package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/karmagate/karmagate/sandbox/world"
)

func (s *Server) getMe(_ context.Context, c *call) (any, error) {
	u := toUser(c.bot)
	t, f := true, false
	joins := true
	if now, ok := s.w.User(c.bot.ID); ok {
		joins = !now.GroupsBlocked // BotFather's Allow Groups?
	}
	u.CanJoinGroups, u.CanReadAllGroupMessages, u.SupportsInlineQueries = &joins, &f, &f
	u.SupportsGuestQueries, u.CanConnectToBusiness, u.HasMainWebApp = &f, &f, &f
	u.HasTopicsEnabled, u.AllowsUsersToCreateTopics, u.CanManageBots = &f, &f, &f
	// Every sandbox bot may be a guard bot, as if enabled in @BotFather.
	u.SupportsJoinRequestQueries = &t
	return u, nil
}

// chatID reads chat_id: an integer, or @username of a person the world knows.
func (s *Server) chatID(c *call) (int64, error) {
	raw := strings.TrimSpace(c.p.str("chat_id"))
	if name, ok := strings.CutPrefix(raw, "@"); ok {
		if u, ok := s.w.UserByUsername(name); ok && !u.IsBot {
			return u.ID, nil
		}
		return 0, badRequest("chat not found")
	}
	id := c.p.int64("chat_id")
	if id == 0 {
		return 0, badRequest("chat not found")
	}
	return id, nil
}

// group resolves chat_id to a supergroup the bot is in.
func (s *Server) group(c *call) (world.Chat, error) {
	id, err := s.chatID(c)
	if err != nil {
		return world.Chat{}, err
	}
	if id > 0 {
		return world.Chat{}, badRequest("method is available only for supergroups")
	}
	ch, err := s.w.GroupByBotAPIID(id)
	if err != nil {
		return world.Chat{}, err // "chat not found", or the upgrade's migrate_to_chat_id
	}
	switch st := s.w.Member(ch.ID, c.bot.ID).Status; {
	case st == world.StatusKicked:
		return world.Chat{}, &world.Error{Code: 403, Description: "Forbidden: bot was kicked from the supergroup chat", RPC: "CHANNEL_PRIVATE"}
	case !st.IsMember():
		return world.Chat{}, &world.Error{Code: 403, Description: "Forbidden: bot is not a member of the supergroup chat", RPC: "CHANNEL_PRIVATE"}
	}
	return ch, nil
}

// rename swaps a world error's description for the Bot API's wording.
func rename(err error, to map[string]string) error {
	var we *world.Error
	if errors.As(err, &we) {
		if d, ok := to[we.RPC]; ok {
			e := *we
			e.Description = "Bad Request: " + d
			return &e
		}
	}
	return err
}

func (s *Server) sendMessage(_ context.Context, c *call) (any, error) {
	chatID, err := s.chatID(c)
	if err != nil {
		return nil, err
	}
	var opts world.SendOptions
	text, entities, err := formatText(c.p.str("text"), c.p.str("parse_mode"))
	if err != nil {
		return nil, err
	}
	opts.Entities = entities
	if v := c.p.str("entities"); v != "" && c.p.str("parse_mode") == "" {
		if err := json.Unmarshal([]byte(v), &opts.Entities); err != nil {
			return nil, badRequest("can't parse entities JSON object")
		}
	}
	if opts.ReplyMarkup, _, err = checkReplyMarkup(c.p.str("reply_markup"), chatID > 0, false); err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, badRequest("message text is empty")
	}
	if opts.ReceiverID, err = ephemeralReceiver(c.p.str("ephemeral_message_parameters")); err != nil {
		return nil, err
	}
	m, err := s.w.SendMessage(c.bot.ID, chatID, text, opts)
	if err != nil {
		return nil, err
	}
	return s.message(m, c.bot.ID), nil
}

func (s *Server) sendContact(_ context.Context, c *call) (any, error) {
	chatID, err := s.chatID(c)
	if err != nil {
		return nil, err
	}
	contact := &world.Contact{
		PhoneNumber: c.p.str("phone_number"),
		FirstName:   c.p.str("first_name"),
		LastName:    c.p.str("last_name"),
	}
	contact.UserID = s.w.ResolveContactUserID(contact.PhoneNumber)
	markup, _, err := checkReplyMarkup(c.p.str("reply_markup"), chatID > 0, false)
	if err != nil {
		return nil, err
	}
	receiver, err := ephemeralReceiver(c.p.str("ephemeral_message_parameters"))
	if err != nil {
		return nil, err
	}
	m, err := s.w.SendMessage(c.bot.ID, chatID, "", world.SendOptions{Contact: contact, ReplyMarkup: markup, ReceiverID: receiver})
	if err != nil {
		return nil, err
	}
	return s.message(m, c.bot.ID), nil
}

func (s *Server) deleteMessage(_ context.Context, c *call) (any, error) {
	chatID, err := s.chatID(c)
	if err != nil {
		return nil, err
	}
	if err := s.w.DeleteMessage(c.bot.ID, chatID, c.p.int("message_id")); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) getChat(_ context.Context, c *call) (any, error) {
	id, err := s.chatID(c)
	if err != nil {
		return nil, err
	}
	info := apiChatFullInfo{MaxReactionCount: 11, AcceptedGiftTypes: apiAcceptedGiftTypes{UnlimitedGifts: true, LimitedGifts: true, UniqueGifts: true, PremiumSubscription: true}}
	if id > 0 {
		u, ok := s.w.User(id)
		if !ok || (id != c.bot.ID && !s.w.Knows(c.bot.ID, id)) {
			return nil, badRequest("chat not found")
		}
		info.apiChat = privateChat(u)
		info.AccentColorID = int(u.ID % 7)
		return info, nil
	}
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	info.apiChat = groupChat(ch)
	info.AccentColorID = int(ch.ID % 7)
	info.Description = ch.About
	info.HasVisibleHistory = true
	if me := s.w.Member(ch.ID, c.bot.ID); me.Status == world.StatusCreator || (me.Status == world.StatusAdministrator && me.Rights.CanInviteUsers) {
		if l, ok := s.w.PrimaryInvite(ch.ID); ok {
			info.InviteLink = l.Link
		}
	}
	if isAdmin(s.w.Member(ch.ID, c.bot.ID)) {
		if g, ok := s.w.GuardBot(ch.ID); ok {
			gu := toUser(g)
			info.GuardBot = &gu
		}
	}
	return info, nil
}

func isAdmin(m world.ChatMember) bool {
	return m.Status == world.StatusCreator || m.Status == world.StatusAdministrator
}

func (s *Server) getChatMember(_ context.Context, c *call) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	uid := c.p.int64("user_id")
	if _, ok := s.w.User(uid); !ok {
		return nil, badRequest("PARTICIPANT_ID_INVALID")
	}
	if uid != c.bot.ID && !isAdmin(s.w.Member(ch.ID, c.bot.ID)) {
		return nil, badRequest("member list is inaccessible")
	}
	return toChatMember(s.w.Member(ch.ID, uid), c.bot.ID), nil
}

func (s *Server) getChatMemberCount(_ context.Context, c *call) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	return ch.MembersCount, nil
}

func (s *Server) getChatAdministrators(_ context.Context, c *call) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	withBots := c.p.bool("return_bots")
	out := []map[string]any{}
	for _, m := range s.w.Admins(ch.ID) {
		if m.User.IsBot && m.User.ID != c.bot.ID && !withBots {
			continue
		}
		out = append(out, toChatMember(m, c.bot.ID))
	}
	return out, nil
}

var inviteRights = map[string]string{
	"CHAT_ADMIN_REQUIRED": "not enough rights to manage chat invite link",
	"RIGHT_FORBIDDEN":     "not enough rights to manage chat invite link",
}

// linkSpec reads name, expire_date, member_limit and creates_join_request.
func linkSpec(c *call) (world.InviteLinkSpec, error) {
	spec := world.InviteLinkSpec{
		Name:               c.p.str("name"),
		ExpireDate:         c.p.unix("expire_date"),
		MemberLimit:        c.p.int("member_limit"),
		CreatesJoinRequest: c.p.bool("creates_join_request"),
	}
	if c.p.has("member_limit") && (spec.MemberLimit < 1 || spec.MemberLimit > 99999) {
		return spec, badRequest("parameter \"member_limit\" must be between 1 and 99999")
	}
	return spec, nil
}

func (s *Server) inviteLinkResult(l world.InviteLink, viewer int64) any {
	creator, _ := s.w.User(l.CreatorID)
	return toInviteLink(l, creator, viewer)
}

// saveInviteLink is createChatInviteLink and editChatInviteLink: it reads
// the link's settings, has save store them in the supergroup chat_id
// names, and answers with the link.
func (s *Server) saveInviteLink(c *call, save func(channelID int64, spec world.InviteLinkSpec) (world.InviteLink, error)) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	spec, err := linkSpec(c)
	if err != nil {
		return nil, err
	}
	l, err := save(ch.ID, spec)
	if err != nil {
		return nil, rename(err, inviteRights)
	}
	return s.inviteLinkResult(l, c.bot.ID), nil
}

func (s *Server) createChatInviteLink(_ context.Context, c *call) (any, error) {
	return s.saveInviteLink(c, func(channelID int64, spec world.InviteLinkSpec) (world.InviteLink, error) {
		return s.w.CreateInviteLink(channelID, c.bot.ID, spec)
	})
}

func (s *Server) editChatInviteLink(_ context.Context, c *call) (any, error) {
	return s.saveInviteLink(c, func(channelID int64, spec world.InviteLinkSpec) (world.InviteLink, error) {
		return s.w.EditInviteLink(channelID, c.bot.ID, c.p.str("invite_link"), spec)
	})
}

func (s *Server) revokeChatInviteLink(_ context.Context, c *call) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	l, err := s.w.RevokeInviteLink(ch.ID, c.bot.ID, c.p.str("invite_link"))
	if err != nil {
		return nil, rename(err, inviteRights)
	}
	return s.inviteLinkResult(l, c.bot.ID), nil
}

func (s *Server) exportChatInviteLink(_ context.Context, c *call) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	l, err := s.w.ExportPrimaryInvite(ch.ID, c.bot.ID)
	if err != nil {
		return nil, rename(err, inviteRights)
	}
	return l.Link, nil
}

// inGroup runs do on the supergroup chat_id names and answers true; do's
// error is renamed with to (nil keeps it as it is).
func (s *Server) inGroup(c *call, to map[string]string, do func(channelID int64) error) (any, error) {
	ch, err := s.group(c)
	if err != nil {
		return nil, err
	}
	if err := do(ch.ID); err != nil {
		return nil, rename(err, to)
	}
	return true, nil
}

func (s *Server) approveChatJoinRequest(_ context.Context, c *call) (any, error) {
	return s.inGroup(c, nil, func(channelID int64) error {
		return s.w.ApproveJoinRequest(channelID, c.bot.ID, c.p.int64("user_id"))
	})
}

func (s *Server) declineChatJoinRequest(_ context.Context, c *call) (any, error) {
	return s.inGroup(c, nil, func(channelID int64) error {
		return s.w.DeclineJoinRequest(channelID, c.bot.ID, c.p.int64("user_id"))
	})
}

var restrictRights = map[string]string{
	"CHAT_ADMIN_REQUIRED": "not enough rights to restrict/unrestrict chat member",
	"RIGHT_FORBIDDEN":     "not enough rights to restrict/unrestrict chat member",
}

func (s *Server) banChatMember(_ context.Context, c *call) (any, error) {
	return s.inGroup(c, restrictRights, func(channelID int64) error {
		return s.w.Ban(channelID, c.bot.ID, c.p.int64("user_id"), c.p.unix("until_date"))
	})
}

func (s *Server) unbanChatMember(_ context.Context, c *call) (any, error) {
	return s.inGroup(c, restrictRights, func(channelID int64) error {
		return s.w.Unban(channelID, c.bot.ID, c.p.int64("user_id"), c.p.bool("only_if_banned"))
	})
}

func (s *Server) promoteChatMember(_ context.Context, c *call) (any, error) {
	b := c.p.bool
	r := world.AdminRights{
		IsAnonymous: b("is_anonymous"), CanManageChat: b("can_manage_chat"), CanDeleteMessages: b("can_delete_messages"),
		CanManageVideoChats: b("can_manage_video_chats"), CanRestrictMembers: b("can_restrict_members"),
		CanPromoteMembers: b("can_promote_members"), CanChangeInfo: b("can_change_info"), CanInviteUsers: b("can_invite_users"),
		CanPostStories: b("can_post_stories"), CanEditStories: b("can_edit_stories"), CanDeleteStories: b("can_delete_stories"),
		CanPinMessages: b("can_pin_messages"), CanManageTopics: b("can_manage_topics"), CanManageTags: b("can_manage_tags"),
		CanSendWelcomeMessages: b("can_send_welcome_messages"),
	}
	if !c.p.has("can_manage_tags") {
		r.CanManageTags = r.CanPinMessages // "if omitted defaults to the value of can_pin_messages"
	}
	if r.Any() {
		r.CanManageChat = true // implied by any other right, as Telegram does
	}
	return s.inGroup(c, map[string]string{"RIGHT_FORBIDDEN": "not enough rights", "CHAT_ADMIN_REQUIRED": "not enough rights"}, func(channelID int64) error {
		return s.w.PromoteAdmin(channelID, c.bot.ID, c.p.int64("user_id"), r, "")
	})
}

func (s *Server) leaveChat(_ context.Context, c *call) (any, error) {
	return s.inGroup(c, nil, func(channelID int64) error {
		if err := s.w.Leave(channelID, c.bot.ID); err != nil {
			return fmt.Errorf("leave chat: %w", err)
		}
		return nil
	})
}
