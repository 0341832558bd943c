package botapi

import (
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// The JSON objects the emulator answers with, named and shaped as in the
// Bot API. Optional fields are omitted when empty, as Telegram does.

type apiUser struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	CanJoinGroups           *bool  `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages *bool  `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   *bool  `json:"supports_inline_queries,omitempty"`
	// The rest are getMe's only, in telegram-bot-api's order.
	SupportsGuestQueries       *bool `json:"supports_guest_queries,omitempty"`
	CanConnectToBusiness       *bool `json:"can_connect_to_business,omitempty"`
	HasMainWebApp              *bool `json:"has_main_web_app,omitempty"`
	HasTopicsEnabled           *bool `json:"has_topics_enabled,omitempty"`
	AllowsUsersToCreateTopics  *bool `json:"allows_users_to_create_topics,omitempty"`
	CanManageBots              *bool `json:"can_manage_bots,omitempty"`
	SupportsJoinRequestQueries *bool `json:"supports_join_request_queries,omitempty"`
}

type apiChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

type apiAcceptedGiftTypes struct {
	UnlimitedGifts      bool `json:"unlimited_gifts"`
	LimitedGifts        bool `json:"limited_gifts"`
	UniqueGifts         bool `json:"unique_gifts"`
	PremiumSubscription bool `json:"premium_subscription"`
	GiftsFromChannels   bool `json:"gifts_from_channels"`
}

type apiChatFullInfo struct {
	apiChat
	AccentColorID     int                  `json:"accent_color_id"`
	MaxReactionCount  int                  `json:"max_reaction_count"`
	AcceptedGiftTypes apiAcceptedGiftTypes `json:"accepted_gift_types"`
	Description       string               `json:"description,omitempty"`
	InviteLink        string               `json:"invite_link,omitempty"`
	JoinByRequest     bool                 `json:"join_by_request,omitempty"`
	HasVisibleHistory bool                 `json:"has_visible_history,omitempty"`
	GuardBot          *apiUser             `json:"guard_bot,omitempty"`
}

type apiMessage struct {
	MessageID   int               `json:"message_id"`
	From        *apiUser          `json:"from,omitempty"`
	SenderChat  *apiChat          `json:"sender_chat,omitempty"`
	Date        int64             `json:"date"`
	Chat        apiChat           `json:"chat"`
	Text        string            `json:"text,omitempty"`
	Entities    []world.Entity    `json:"entities,omitempty"`
	Contact     *world.Contact    `json:"contact,omitempty"`
	ChatShared  *world.ChatShared `json:"chat_shared,omitempty"`
	EditDate    int64             `json:"edit_date,omitempty"`
	ReplyMarkup rawJSONOrAbsent   `json:"reply_markup,omitempty"`
	// MigrateToChatID and MigrateFromChatID: a basic group's upgrade.
	MigrateToChatID   int64 `json:"migrate_to_chat_id,omitempty"`
	MigrateFromChatID int64 `json:"migrate_from_chat_id,omitempty"`
	// An ephemeral message (10.2): message_id 0, its own id and the one
	// person who sees it.
	EphemeralMessageID int      `json:"ephemeral_message_id,omitempty"`
	ReceiverUser       *apiUser `json:"receiver_user,omitempty"`
}

type apiCallbackQuery struct {
	ID           string      `json:"id"`
	From         apiUser     `json:"from"`
	Message      *apiMessage `json:"message,omitempty"`
	ChatInstance string      `json:"chat_instance"`
	Data         string      `json:"data,omitempty"`
}

// rawJSONOrAbsent is raw JSON that is left out when empty.
type rawJSONOrAbsent string

func (r rawJSONOrAbsent) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return []byte(r), nil
}

type apiInviteLink struct {
	InviteLink              string  `json:"invite_link"`
	Creator                 apiUser `json:"creator"`
	CreatesJoinRequest      bool    `json:"creates_join_request"`
	IsPrimary               bool    `json:"is_primary"`
	IsRevoked               bool    `json:"is_revoked"`
	Name                    string  `json:"name,omitempty"`
	ExpireDate              int64   `json:"expire_date,omitempty"`
	MemberLimit             int     `json:"member_limit,omitempty"`
	PendingJoinRequestCount int     `json:"pending_join_request_count,omitempty"`
}

type apiChatJoinRequest struct {
	Chat       apiChat        `json:"chat"`
	From       apiUser        `json:"from"`
	UserChatID int64          `json:"user_chat_id"`
	Date       int64          `json:"date"`
	InviteLink *apiInviteLink `json:"invite_link,omitempty"`
	QueryID    string         `json:"query_id,omitempty"`
}

type apiChatMemberUpdated struct {
	Chat           apiChat        `json:"chat"`
	From           apiUser        `json:"from"`
	Date           int64          `json:"date"`
	OldChatMember  map[string]any `json:"old_chat_member"`
	NewChatMember  map[string]any `json:"new_chat_member"`
	InviteLink     *apiInviteLink `json:"invite_link,omitempty"`
	ViaJoinRequest bool           `json:"via_join_request,omitempty"`
}

type apiUpdate struct {
	UpdateID        int64                 `json:"update_id"`
	Message         *apiMessage           `json:"message,omitempty"`
	MyChatMember    *apiChatMemberUpdated `json:"my_chat_member,omitempty"`
	ChatMember      *apiChatMemberUpdated `json:"chat_member,omitempty"`
	ChatJoinRequest *apiChatJoinRequest   `json:"chat_join_request,omitempty"`
	CallbackQuery   *apiCallbackQuery     `json:"callback_query,omitempty"`
}

// kind is the update's type, as allowed_updates names it.
func (u *apiUpdate) kind() string {
	switch {
	case u.Message != nil:
		return "message"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChatMember != nil:
		return "chat_member"
	case u.ChatJoinRequest != nil:
		return "chat_join_request"
	case u.CallbackQuery != nil:
		return "callback_query"
	}
	return ""
}

type apiWebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	IPAddress            string   `json:"ip_address,omitempty"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}

type apiBotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
	// IsEphemeral (10.2): the command is sent, and answered, as an
	// ephemeral message. Stored and read back; the sandbox's people send
	// commands as ordinary messages.
	IsEphemeral bool `json:"is_ephemeral,omitempty"`
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func toUser(u world.User) apiUser {
	return apiUser{ID: u.ID, IsBot: u.IsBot, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode}
}

func privateChat(u world.User) apiChat {
	return apiChat{ID: u.ID, Type: "private", FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

func groupChat(c world.Chat) apiChat {
	if c.Basic {
		return apiChat{ID: c.BotAPIID(), Type: "group", Title: c.Title}
	}
	return apiChat{ID: c.BotAPIID(), Type: "supergroup", Title: c.Title}
}

// toInviteLink shows a link as viewer sees it: links other admins created
// have their second half replaced with "...".
func toInviteLink(l world.InviteLink, creator world.User, viewerID int64) *apiInviteLink {
	link := l.Link
	if l.CreatorID != viewerID {
		cut := len(link) - len(l.Hash)/2
		link = link[:cut] + "..."
	}
	return &apiInviteLink{
		InviteLink:              link,
		Creator:                 toUser(creator),
		CreatesJoinRequest:      l.CreatesJoinRequest,
		IsPrimary:               l.IsPrimary,
		IsRevoked:               l.IsRevoked,
		Name:                    l.Name,
		ExpireDate:              unix(l.ExpireDate),
		MemberLimit:             l.MemberLimit,
		PendingJoinRequestCount: l.PendingJoinRequests,
	}
}

// toChatMember builds the ChatMember subtype for the member's status, with
// every field the specification marks as required.
func toChatMember(m world.ChatMember, viewerID int64) map[string]any {
	out := map[string]any{"status": string(m.Status), "user": toUser(m.User)}
	r := m.Rights
	switch m.Status {
	case world.StatusCreator:
		out["is_anonymous"] = r.IsAnonymous
		if m.CustomTitle != "" {
			out["custom_title"] = m.CustomTitle
		}
	case world.StatusAdministrator:
		out["can_be_edited"] = m.InviterID == viewerID && m.User.ID != viewerID
		out["is_anonymous"] = r.IsAnonymous
		out["can_manage_chat"] = r.CanManageChat
		out["can_delete_messages"] = r.CanDeleteMessages
		out["can_manage_video_chats"] = r.CanManageVideoChats
		out["can_restrict_members"] = r.CanRestrictMembers
		out["can_promote_members"] = r.CanPromoteMembers
		out["can_change_info"] = r.CanChangeInfo
		out["can_invite_users"] = r.CanInviteUsers
		out["can_post_stories"] = r.CanPostStories
		out["can_edit_stories"] = r.CanEditStories
		out["can_delete_stories"] = r.CanDeleteStories
		out["can_pin_messages"] = r.CanPinMessages
		out["can_manage_topics"] = r.CanManageTopics
		if r.CanManageTags != r.CanPinMessages {
			// Optional: "if omitted defaults to the value of
			// can_pin_messages" (Bot API 9.5), and left out where that
			// default holds, so that clients must read it so.
			out["can_manage_tags"] = r.CanManageTags
		}
		out["can_send_welcome_messages"] = r.CanSendWelcomeMessages // Bot API 10.3
		if m.CustomTitle != "" {
			out["custom_title"] = m.CustomTitle
		}
	case world.StatusMember:
		if m.Tag != "" {
			out["tag"] = m.Tag
		}
		if !m.UntilDate.IsZero() {
			out["until_date"] = unix(m.UntilDate)
		}
	case world.StatusRestricted:
		out["is_member"] = true
		if m.Tag != "" {
			out["tag"] = m.Tag
		}
		for _, k := range []string{"can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages", "can_edit_tag", "can_change_info", "can_invite_users", "can_pin_messages", "can_manage_topics"} {
			out[k] = false
		}
		out["until_date"] = unix(m.UntilDate)
	case world.StatusKicked:
		out["until_date"] = unix(m.UntilDate)
	}
	return out
}
