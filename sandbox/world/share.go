package world

// A person answering a bot's request_chat keyboard button.

// ChatShared is the chat_shared service message: which chat the person
// picked for which button.
type ChatShared struct {
	RequestID int32 `json:"request_id"`
	// ChatID is the Bot API id of the chat (-100…).
	ChatID int64 `json:"chat_id"`
	// Title is set when the button asked for it (request_title).
	Title string `json:"title,omitempty"`
}

// ErrNoSuchButton: the bot's keyboard has no request_chat button with that
// request_id (a person can only answer a button they were shown).
var ErrNoSuchButton = sentinel(BadRequest("BUTTON_ID_INVALID", "the bot's keyboard has no request_chat button with that request_id"))

// ShareChat is userID pressing the request_chat button requestID of the
// reply keyboard botID last showed them, and picking the supergroup
// channelID, as Telegram's clients do: only a chat that fits the request
// can be picked (chat_is_channel, chat_is_created, chat_has_username,
// chat_is_forum, user_administrator_rights; PEER_ID_INVALID otherwise).
// When bot_administrator_rights ask for rights the bot lacks there, the
// person promotes the bot with them (adding it if needed, which takes
// can_promote_members); when only bot_is_member asks, the person adds the
// bot (can_invite_users). Then the bot gets a message with chat_shared.
func (w *World) ShareChat(userID, botID int64, requestID int32, channelID int64) (Message, error) {
	w.mu.Lock()
	req, err := w.chatRequestLocked(userID, botID, requestID)
	if err != nil {
		w.mu.Unlock()
		return Message{}, err
	}
	c, ok := w.chats[channelID]
	if !ok {
		w.mu.Unlock()
		return Message{}, ErrChatNotFound
	}
	me := w.memberLocked(c, userID)
	bot := w.memberLocked(c, botID)
	chat := c.snapshot()
	w.mu.Unlock()

	if err := fitsRequest(req, me); err != nil {
		return Message{}, err
	}
	if r := req.BotAdministratorRights; r != nil && r.Any() {
		have := AdminRights{}
		if bot.Status == StatusAdministrator {
			have = bot.Rights
		}
		if bot.Status != StatusAdministrator || !rightsSubset(*r, have) {
			want := unionRights(have, *r)
			want.CanManageChat = true // implied by any other right
			if err := w.PromoteAdmin(channelID, userID, botID, want, bot.CustomTitle); err != nil {
				return Message{}, err
			}
		}
	} else if req.BotIsMember && !bot.Status.IsMember() {
		if _, missing, err := w.AddMembers(channelID, userID, []int64{botID}); err != nil {
			return Message{}, err
		} else if len(missing) > 0 {
			return Message{}, BadRequest(missing[0].Reason, "")
		}
	}
	shared := &ChatShared{RequestID: requestID, ChatID: chat.BotAPIID()}
	if req.RequestTitle {
		shared.Title = chat.Title
	}
	return w.SendMessage(userID, botID, "", SendOptions{ChatShared: shared})
}

// chatRequestLocked finds the request_chat button requestID in the reply
// keyboard botID shows userID.
func (w *World) chatRequestLocked(userID, botID int64, requestID int32) (ChatRequest, error) {
	if _, ok := w.users[userID]; !ok {
		return ChatRequest{}, ErrUserNotFound
	}
	mk := w.activeKeyboardLocked(botID, userID)
	if mk == nil {
		return ChatRequest{}, ErrNoSuchButton
	}
	for _, row := range mk.Keyboard {
		for _, b := range row {
			if b.RequestChat != nil && b.RequestChat.RequestID == requestID {
				return *b.RequestChat, nil
			}
		}
	}
	return ChatRequest{}, ErrNoSuchButton
}

// fitsRequest checks that a supergroup where the person is me may be
// picked for req.
func fitsRequest(req ChatRequest, me ChatMember) error {
	refuse := func(why string) error {
		return BadRequest("PEER_ID_INVALID", "the chat does not fit the request: "+why)
	}
	switch {
	case req.ChatIsChannel:
		return refuse("a channel is asked for and the sandbox has supergroups only")
	case req.ChatIsForum != nil && *req.ChatIsForum:
		return refuse("a forum is asked for")
	case req.ChatHasUsername != nil && *req.ChatHasUsername:
		return refuse("a public chat (with a username) is asked for")
	case !me.Status.IsMember():
		return refuse("the person is not in the chat")
	case req.ChatIsCreated && me.Status != StatusCreator:
		return refuse("a chat the person created is asked for")
	}
	if r := req.UserAdministratorRights; r != nil {
		switch me.Status {
		case StatusCreator:
		case StatusAdministrator:
			if !rightsSubset(*r, me.Rights) {
				return refuse("the person lacks the administrator rights asked for")
			}
		default:
			return refuse("the person must be an administrator")
		}
	}
	return nil
}

// unionRights grants what either a or b grants.
func unionRights(a, b AdminRights) AdminRights {
	return AdminRights{
		IsAnonymous:            a.IsAnonymous || b.IsAnonymous,
		CanManageChat:          a.CanManageChat || b.CanManageChat,
		CanDeleteMessages:      a.CanDeleteMessages || b.CanDeleteMessages,
		CanManageVideoChats:    a.CanManageVideoChats || b.CanManageVideoChats,
		CanRestrictMembers:     a.CanRestrictMembers || b.CanRestrictMembers,
		CanPromoteMembers:      a.CanPromoteMembers || b.CanPromoteMembers,
		CanChangeInfo:          a.CanChangeInfo || b.CanChangeInfo,
		CanInviteUsers:         a.CanInviteUsers || b.CanInviteUsers,
		CanPostStories:         a.CanPostStories || b.CanPostStories,
		CanEditStories:         a.CanEditStories || b.CanEditStories,
		CanDeleteStories:       a.CanDeleteStories || b.CanDeleteStories,
		CanPinMessages:         a.CanPinMessages || b.CanPinMessages,
		CanManageTopics:        a.CanManageTopics || b.CanManageTopics,
		CanManageTags:          a.CanManageTags || b.CanManageTags,
		CanSendWelcomeMessages: a.CanSendWelcomeMessages || b.CanSendWelcomeMessages,
	}
}
