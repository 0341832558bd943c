package bot

import "context"

// strangerSeen notes that someone linked to no member was seen inside a
// bound group. Strangers who join are handled by chat_member updates
// (onChatMember); one seen speaking was inside before karmagate knew the
// group, and is left alone.
func (b *Bot) strangerSeen(ctx context.Context, chatID, userID int64) error {
	return nil
}
