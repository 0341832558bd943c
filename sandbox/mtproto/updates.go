package mtproto

import (
	"context"
	"sync"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgtest"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Updates pushed to connected clients.
//
// Every supergroup has its own message box: service messages (created,
// joined, added, left, removed) get the next message id and pts, as on
// Telegram. The sandbox keeps no history, so channels.getDifference is
// always empty at the current pts.

type channelState struct {
	pts   int
	msgID int
}

func (s *Server) channelPts(channelID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.channels[channelID]; ok {
		return st.pts
	}
	return 0
}

// serviceMessage appends a service message to the channel's box.
func (s *Server) serviceMessage(channelID, from int64, action tg.MessageActionClass, at time.Time) *tg.UpdateNewChannelMessage {
	s.mu.Lock()
	st, ok := s.channels[channelID]
	if !ok {
		st = &channelState{}
		s.channels[channelID] = st
	}
	st.pts++
	st.msgID++
	pts, id := st.pts, st.msgID
	s.mu.Unlock()
	return &tg.UpdateNewChannelMessage{
		Message: &tg.MessageService{
			ID:     id,
			FromID: &tg.PeerUser{UserID: from},
			PeerID: &tg.PeerChannel{ChannelID: channelID},
			Date:   unix(at),
			Action: action,
		},
		Pts:      pts,
		PtsCount: 1,
	}
}

// trackSession remembers where to push the user's updates.
func (s *Server) trackSession(userID int64, ses tgtest.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byUser, ok := s.sessions[userID]
	if !ok {
		byUser = map[int64]session{}
		s.sessions[userID] = byUser
	}
	byUser[ses.ID] = session{tg: ses, auth: ses.AuthKey.ID}
}

func (s *Server) sessionsOf(userID int64) []session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]session, 0, len(s.sessions[userID]))
	for _, ses := range s.sessions[userID] {
		out = append(out, ses)
	}
	return out
}

func (s *Server) forgetSession(userID, sessionID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions[userID], sessionID)
}

// updateQueue hands world events to the push loop without ever blocking
// the world.
type updateQueue struct {
	mu     sync.Mutex
	events []world.Event
	wake   chan struct{}
}

func (q *updateQueue) init() { q.wake = make(chan struct{}, 1) }

func (q *updateQueue) push(ev world.Event) {
	q.mu.Lock()
	q.events = append(q.events, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *updateQueue) take() []world.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.events
	q.events = nil
	return evs
}

func (s *Server) onEvent(ev world.Event) {
	if _, ok := ev.(world.MemberChanged); ok {
		s.updates.push(ev)
	}
}

func (s *Server) pushLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.updates.wake:
		}
		for _, ev := range s.updates.take() {
			if mc, ok := ev.(world.MemberChanged); ok {
				s.pushMemberChanged(ctx, mc)
			}
		}
	}
}

// pushMemberChanged tells the supergroup's members with a session (and the
// user concerned) what Telegram would: updateChannel, plus a service
// message for joins and departures. Changes the caller made itself by RPC
// arrive in the RPC's answer too; clients drop the duplicate by pts.
func (s *Server) pushMemberChanged(ctx context.Context, mc world.MemberChanged) {
	uid := mc.New.User.ID
	var action tg.MessageActionClass
	from := mc.Actor
	switch was, is := mc.Old.Status.IsMember(), mc.New.Status.IsMember(); {
	case mc.New.Status == world.StatusCreator && !was:
		// Creation: the creator's channels.createChannel answer has it.
		return
	case !was && is && mc.InviteLink != nil && mc.ViaJoinRequest:
		action, from = &tg.MessageActionChatJoinedByRequest{}, uid
	case !was && is && mc.InviteLink != nil:
		action, from = &tg.MessageActionChatJoinedByLink{InviterID: mc.InviteLink.CreatorID}, uid
	case !was && is && mc.Actor == uid:
		action = &tg.MessageActionChatAddUser{Users: []int64{uid}}
	case !was && is:
		// Added by an admin over MTProto: the RPC answer carried the
		// service message; push it to the others.
		action = &tg.MessageActionChatAddUser{Users: []int64{uid}}
	case was && !is:
		action = &tg.MessageActionChatDeleteUser{UserID: uid}
	}
	var msg *tg.UpdateNewChannelMessage
	if action != nil {
		msg = s.serviceMessage(mc.ChannelID, from, action, mc.Date)
	}
	recipients := map[int64]bool{uid: true}
	for _, m := range s.w.Members(mc.ChannelID) {
		recipients[m.User.ID] = true
	}
	for userID := range recipients {
		sessions := s.sessionsOf(userID)
		if len(sessions) == 0 {
			continue
		}
		upd := &tg.Updates{
			Updates: []tg.UpdateClass{&tg.UpdateChannel{ChannelID: mc.ChannelID}},
			Users:   s.usersTG(userID, uid, mc.Actor, userID),
			Chats:   s.chatsTG(userID, mc.ChannelID),
			Date:    unix(s.w.Now()),
		}
		if msg != nil {
			upd.Updates = append(upd.Updates, msg)
		}
		for _, ses := range sessions {
			if err := s.srv.Send(ctx, ses.tg, tgtest.MessageFromServer, upd); err != nil {
				s.log.Debug("mtproto: push failed, forgetting session", "user_id", userID, "err", err)
				s.forgetSession(userID, ses.tg.ID)
			}
		}
	}
}
