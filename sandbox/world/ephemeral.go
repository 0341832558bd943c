package world

// Ephemeral messages (Bot API 10.2; EphemeralMessageParameters since
// 10.3): a bot's message in a group that only one person sees. The world
// keeps them apart from the group's messages, numbered on their own (the
// Bot API's ephemeral_message_id), so that the group's history, and every
// other member's view of it, never holds them.
//
// Telegram's checks, as far as its documentation says, and the sandbox's
// choices where it says nothing (the README's "Sandbox" lists them):
//   - groups and supergroups only: "ephemeral messages can't be sent to
//     private chats";
//   - the receiver must be a person the world knows ("user not found"), not
//     a bot ("USER_IS_BOT"), and a member of the chat now
//     ("USER_NOT_PARTICIPANT");
//   - a chat may not allow them: Chat.NoEphemeral, set through the control
//     API as a chat's admins would, answers "ephemeral messages are not
//     allowed in the chat" (no Telegram text is published: the sandbox's);
//   - the sender is held to the group's send limits like any message.

// ephemeralKey is where a chat's ephemeral messages are kept: apart from
// its messages (msgKey{0, channelID}), numbered on their own.
func ephemeralKey(channelID int64) msgKey { return msgKey{-1, channelID} }

// Ephemeral refusals.
var (
	ErrEphemeralPrivate    = sentinel(BadRequest("EPHEMERAL_PEER_INVALID", "ephemeral messages can't be sent to private chats"))
	ErrEphemeralNotAllowed = sentinel(BadRequest("EPHEMERAL_FORBIDDEN", "ephemeral messages are not allowed in the chat"))
	ErrEphemeralToBot      = sentinel(BadRequest("USER_IS_BOT", ""))
)

// checkEphemeralLocked refuses an ephemeral message to receiverID in c as
// Telegram would.
func (w *World) checkEphemeralLocked(c *chat, receiverID int64) error {
	r, ok := w.users[receiverID]
	switch {
	case !ok:
		return ErrUserNotFound
	case r.IsBot:
		return ErrEphemeralToBot
	case !w.memberLocked(c, receiverID).Status.IsMember():
		return ErrUserNotParticipant
	case c.NoEphemeral:
		return ErrEphemeralNotAllowed
	}
	return nil
}

// SetEphemeralAllowed is a chat's admins allowing (or not) bots' ephemeral
// messages in their group; chatID is a Bot API id. Allowed by default.
func (w *World) SetEphemeralAllowed(chatID int64, allowed bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.groupLocked(chatID)
	if err != nil {
		return err
	}
	c.NoEphemeral = !allowed
	return nil
}

// ChatMessages lists a group's messages as viewerID sees them, oldest
// first, deleted ones left out: every member's messages, and the ephemeral
// ones sent to viewerID or by viewerID. A viewerID of 0 sees what every
// member sees. chatID is a Bot API id.
func (w *World) ChatMessages(chatID, viewerID int64) ([]Message, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.groupLocked(chatID)
	if err != nil {
		return nil, err
	}
	var kept []stored
	for _, m := range w.msgs[msgKey{0, c.ID}] {
		if !m.Deleted {
			kept = append(kept, m)
		}
	}
	if viewerID != 0 {
		for _, m := range w.msgs[ephemeralKey(c.ID)] {
			if !m.Deleted && (m.ReceiverID == viewerID || m.FromID == viewerID) {
				kept = append(kept, m)
			}
		}
	}
	return inOrder(kept), nil
}

// ephemeralToLocked lists the ephemeral messages sent to userID in every
// chat.
func (w *World) ephemeralToLocked(userID int64) []stored {
	var kept []stored
	for key, list := range w.msgs {
		if key[0] != -1 {
			continue
		}
		for _, m := range list {
			if m.ReceiverID == userID && !m.Deleted {
				kept = append(kept, m)
			}
		}
	}
	return kept
}
