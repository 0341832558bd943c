package botapi

import "context"

// pinChatMessage pins a group's message; the bot must be an admin with
// can_pin_messages.
func (s *Server) pinChatMessage(_ context.Context, c *call) (any, error) {
	chatID, err := s.chatID(c)
	if err != nil {
		return nil, err
	}
	if err := s.w.PinMessage(c.bot.ID, chatID, c.p.int("message_id")); err != nil {
		return nil, err
	}
	return true, nil
}
