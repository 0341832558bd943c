package world

// Errors of pinning, as Telegram words them.
var (
	ErrPinNotFound  = sentinel(BadRequest("MESSAGE_ID_INVALID", "message to pin not found"))
	ErrPinForbidden = sentinel(BadRequest("CHAT_ADMIN_REQUIRED", "not enough rights to manage pinned messages in the chat"))
)

// PinMessage pins a group's message as actorID: the creator, or an admin
// with can_pin_messages (a supergroup's members may not pin at all here).
// Pinning a pinned message again is fine.
func (w *World) PinMessage(actorID, chatID int64, messageID int) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !isGroupID(chatID) {
		return ErrPinNotFound
	}
	c, err := w.groupLocked(chatID)
	if err != nil {
		return err
	}
	if !canLocked(w.memberLocked(c, actorID), func(r AdminRights) bool { return r.CanPinMessages }) {
		return ErrPinForbidden
	}
	m := w.messageLocked(actorID, chatID, messageID)
	if m == nil || m.Deleted {
		return ErrPinNotFound
	}
	m.Pinned = true
	return nil
}
