package world

// Anonymous admins. An admin with "Remain anonymous" (the is_anonymous
// right; the creator may turn it on for themselves too) posts as the
// group: bots see the message from @GroupAnonymousBot, a bot, with
// sender_chat set to the group, and cannot tell which admin sent it.

// GroupAnonymousBot is the user Telegram puts in from for anonymous
// admins' messages.
var GroupAnonymousBot = User{ID: 1087968824, FirstName: "Group", Username: "GroupAnonymousBot", IsBot: true}

// anonymousLocked says whether the member may post as the group: the
// creator, or an admin with the is_anonymous right.
func anonymousLocked(m ChatMember) error {
	switch {
	case m.Status == StatusCreator:
		return nil
	case m.Status == StatusAdministrator && m.Rights.IsAnonymous:
		return nil
	}
	return BadRequest("SEND_AS_PEER_INVALID", "only admins with \"Remain anonymous\" can post as the group")
}
