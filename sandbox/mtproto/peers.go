package mtproto

import (
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Resolving input peers, checking access hashes as Telegram does.

var (
	errChannelInvalid = rpcError(400, "CHANNEL_INVALID")
	errChannelPrivate = rpcError(400, "CHANNEL_PRIVATE")
	errUserIDInvalid  = rpcError(400, "USER_ID_INVALID")
	errPeerIDInvalid  = rpcError(400, "PEER_ID_INVALID")
)

// inputChannel resolves a channel the caller knows the access hash of.
func (s *Server) inputChannel(in tg.InputChannelClass) (world.Chat, error) {
	ch, ok := in.(*tg.InputChannel)
	if !ok {
		return world.Chat{}, errChannelInvalid
	}
	c, ok := s.w.Chat(ch.ChannelID)
	if !ok || c.AccessHash != ch.AccessHash {
		return world.Chat{}, errChannelInvalid
	}
	return c, nil
}

// memberChannel is inputChannel for calls that need the caller in the
// supergroup: a private supergroup is CHANNEL_PRIVATE to anyone else.
func (s *Server) memberChannel(in tg.InputChannelClass, viewer int64) (world.Chat, world.ChatMember, error) {
	c, err := s.inputChannel(in)
	if err != nil {
		return c, world.ChatMember{}, err
	}
	m := s.w.Member(c.ID, viewer)
	if !m.Status.IsMember() {
		return c, m, errChannelPrivate
	}
	return c, m, nil
}

// inputUser resolves a user; self is the caller.
func (s *Server) inputUser(in tg.InputUserClass, self int64) (world.User, error) {
	switch u := in.(type) {
	case *tg.InputUserSelf:
		if got, ok := s.w.User(self); ok {
			return got, nil
		}
	case *tg.InputUser:
		if u.UserID == self {
			if got, ok := s.w.User(self); ok {
				return got, nil
			}
		}
		if got, ok := s.w.User(u.UserID); ok && got.AccessHash == u.AccessHash {
			return got, nil
		}
	}
	return world.User{}, errUserIDInvalid
}

// inputPeerUser resolves a user given as an InputPeer.
func (s *Server) inputPeerUser(in tg.InputPeerClass, self int64) (world.User, error) {
	switch p := in.(type) {
	case *tg.InputPeerSelf:
		return s.inputUser(&tg.InputUserSelf{}, self)
	case *tg.InputPeerUser:
		u, err := s.inputUser(&tg.InputUser{UserID: p.UserID, AccessHash: p.AccessHash}, self)
		if err != nil {
			return u, errPeerIDInvalid
		}
		return u, nil
	}
	return world.User{}, errPeerIDInvalid
}

// inputPeerChannel resolves a supergroup given as an InputPeer.
func (s *Server) inputPeerChannel(in tg.InputPeerClass) (world.Chat, error) {
	p, ok := in.(*tg.InputPeerChannel)
	if !ok {
		return world.Chat{}, errPeerIDInvalid
	}
	c, err := s.inputChannel(&tg.InputChannel{ChannelID: p.ChannelID, AccessHash: p.AccessHash})
	if err != nil {
		return c, errPeerIDInvalid
	}
	return c, nil
}
