package world

// AllowWrites is the person userID allowing the bot botID to message them
// (Log in with Telegram's telegram:bot_access scope): the bot may then
// write first, as if the person had started it, until they block it. A
// person who blocked the bot stays blocked.
func (w *World) AllowWrites(userID, botID int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok || u.IsBot {
		return ErrUserNotFound
	}
	if b, ok := w.users[botID]; !ok || !b.IsBot {
		return ErrUserNotFound
	}
	if p := w.privateLocked(botID, userID); !p.blocked {
		p.started = true
	}
	return nil
}
