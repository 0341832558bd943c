package mtproto

import (
	"context"
	"sync"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgtest"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Updates.
//
// Every supergroup has its own message box, as on Telegram: each service
// message (created, joined by link or request, added, removed, left) gets
// the next message id and pts. The box is written as the world's events
// happen (synchronously, so an RPC that caused them can answer with them),
// then pushed to the members' live sessions; channels.getDifference hands
// out what a client missed.

// maxChannelLog is how many service messages a supergroup's box keeps.
const maxChannelLog = 10000

type channelBox struct {
	pts int
	log []*tg.UpdateNewChannelMessage
}

// channelPts is the supergroup's current pts.
func (s *Server) channelPts(channelID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.channels[channelID]; ok {
		return b.pts
	}
	return 0
}

// appendService adds a service message to the supergroup's box.
func (s *Server) appendService(channelID, from int64, action tg.MessageActionClass, date int) *tg.UpdateNewChannelMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendServiceLocked(channelID, from, action, date)
}

func (s *Server) appendServiceLocked(channelID, from int64, action tg.MessageActionClass, date int) *tg.UpdateNewChannelMessage {
	b, ok := s.channels[channelID]
	if !ok {
		b = &channelBox{}
		s.channels[channelID] = b
	}
	b.pts++
	u := &tg.UpdateNewChannelMessage{
		Message: &tg.MessageService{
			ID:     b.pts, // one message per pts: ids and pts advance together
			FromID: &tg.PeerUser{UserID: from},
			PeerID: &tg.PeerChannel{ChannelID: channelID},
			Date:   date,
			Action: action,
		},
		Pts:      b.pts,
		PtsCount: 1,
	}
	b.log = append(b.log, u)
	if over := len(b.log) - maxChannelLog; over > 0 {
		clear(b.log[:over])
		b.log = b.log[over:] // no copy: append reallocates now and then
	}
	return cloneService(u)
}

// cloneService copies a service message update: gotd's Encode writes the
// flags fields, so one object must not be encoded by two goroutines.
func cloneService(u *tg.UpdateNewChannelMessage) *tg.UpdateNewChannelMessage {
	c := *u
	if m, ok := u.Message.(*tg.MessageService); ok {
		mc := *m
		c.Message = &mc
	}
	return &c
}

// servicesSince lists (copies of) the box's messages after pts.
func (s *Server) servicesSince(channelID int64, pts int) []*tg.UpdateNewChannelMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	var out []*tg.UpdateNewChannelMessage
	for _, u := range b.log {
		if u.Pts > pts {
			out = append(out, cloneService(u))
		}
	}
	return out
}

// serviceUsers lists the users a service message mentions.
func serviceUsers(u *tg.UpdateNewChannelMessage) []int64 {
	m, ok := u.Message.(*tg.MessageService)
	if !ok {
		return nil
	}
	var ids []int64
	if p, ok := m.FromID.(*tg.PeerUser); ok {
		ids = append(ids, p.UserID)
	}
	switch a := m.Action.(type) {
	case *tg.MessageActionChatAddUser:
		ids = append(ids, a.Users...)
	case *tg.MessageActionChatDeleteUser:
		ids = append(ids, a.UserID)
	case *tg.MessageActionChatJoinedByLink:
		ids = append(ids, a.InviterID)
	}
	return ids
}

// trackSession remembers where to push the user's updates.
func (s *Server) trackSession(dc int, userID int64, ses tgtest.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byUser, ok := s.sessions[userID]
	if !ok {
		byUser = map[int64]session{}
		s.sessions[userID] = byUser
	}
	byUser[ses.ID] = session{tg: ses, auth: ses.AuthKey.ID, dc: dc}
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

// push is one change to tell a supergroup's members about.
type push struct {
	channelID int64
	users     []int64 // users concerned: told even if no longer members
	msg       *tg.UpdateNewChannelMessage
}

// updateQueue hands pushes to the push loop without ever blocking the
// world.
type updateQueue struct {
	mu     sync.Mutex
	pushes []push
	wake   chan struct{}
}

func (q *updateQueue) init() { q.wake = make(chan struct{}, 1) }

func (q *updateQueue) add(p push) {
	q.mu.Lock()
	q.pushes = append(q.pushes, p)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *updateQueue) take() []push {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.pushes
	q.pushes = nil
	return p
}

// onEvent writes the supergroup's box and queues the push. It runs inside
// the world's call, so it only touches the server's own state.
func (s *Server) onEvent(ev world.Event) {
	switch ev := ev.(type) {
	case world.ChatCreated:
		s.appendService(ev.Chat.ID, ev.Chat.CreatorID, &tg.MessageActionChannelCreate{Title: ev.Chat.Title}, unix(ev.Chat.Date))
		// The creator learns of it from channels.createChannel's answer.
	case world.MemberChanged:
		if ev.New.Status == world.StatusCreator && !ev.Old.Status.IsMember() {
			return // creation, above
		}
		uid := ev.New.User.ID
		p := push{channelID: ev.ChannelID, users: []int64{uid, ev.Actor}}
		from := ev.Actor
		var action tg.MessageActionClass
		switch was, is := ev.Old.Status.IsMember(), ev.New.Status.IsMember(); {
		case !was && is && ev.InviteLink != nil && ev.ViaJoinRequest:
			action, from = &tg.MessageActionChatJoinedByRequest{}, uid
		case !was && is && ev.InviteLink != nil:
			action, from = &tg.MessageActionChatJoinedByLink{InviterID: ev.InviteLink.CreatorID}, uid
		case !was && is:
			action = &tg.MessageActionChatAddUser{Users: []int64{uid}}
		case was && !is:
			action = &tg.MessageActionChatDeleteUser{UserID: uid}
		}
		if action != nil {
			p.msg = s.appendService(ev.ChannelID, from, action, unix(ev.Date))
		}
		s.updates.add(p)
	case world.UserDeleted:
		s.forgetUsers(func(id int64) bool { return id == ev.UserID })
	case world.WorldReset:
		s.onReset(ev.Keep)
	}
}

func (s *Server) pushLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.updates.wake:
		}
		for _, p := range s.updates.take() {
			s.deliver(ctx, p)
		}
	}
}

// deliver pushes updateChannel, and the service message if any, to every
// live session of the supergroup's members and of the users concerned.
func (s *Server) deliver(ctx context.Context, p push) {
	recipients := map[int64]bool{}
	for _, id := range p.users {
		recipients[id] = true
	}
	for _, m := range s.w.Members(p.channelID) {
		recipients[m.User.ID] = true
	}
	mentioned := p.users
	if p.msg != nil {
		mentioned = append(mentioned, serviceUsers(p.msg)...)
	}
	for userID := range recipients {
		sessions := s.sessionsOf(userID)
		if len(sessions) == 0 {
			continue
		}
		upd := &tg.Updates{
			Updates: []tg.UpdateClass{&tg.UpdateChannel{ChannelID: p.channelID}},
			Users:   s.usersTG(userID, append(mentioned, userID)...),
			Chats:   s.chatsTG(userID, p.channelID),
			Date:    unix(s.w.Now()),
		}
		if p.msg != nil && s.w.Member(p.channelID, userID).Status.IsMember() {
			upd.Updates = append(upd.Updates, cloneService(p.msg))
		}
		for _, ses := range sessions {
			if err := s.send(ctx, ses.dc, ses.tg, upd); err != nil {
				s.log.Debug("mtproto: push failed, forgetting session", "user_id", userID, "err", err)
				s.forgetSession(userID, ses.tg.ID)
			}
		}
	}
}

// channelUpdates is the updates answer of an RPC that changed a
// supergroup: updateChannel and the service messages after pts.
func (s *Server) channelUpdates(viewer, channelID int64, pts int, users ...int64) *tg.Updates {
	upd := &tg.Updates{Updates: []tg.UpdateClass{&tg.UpdateChannel{ChannelID: channelID}}}
	users = append(users, viewer)
	for _, m := range s.servicesSince(channelID, pts) {
		upd.Updates = append(upd.Updates, m)
		users = append(users, serviceUsers(m)...)
	}
	upd.Users = s.usersTG(viewer, users...)
	upd.Chats = s.chatsTG(viewer, channelID)
	upd.Date = unix(s.w.Now())
	return upd
}

func (s *Server) channelsGetDifference(ctx context.Context, c *call, req *tg.UpdatesGetChannelDifferenceRequest) (bin.Encoder, error) {
	ch, _, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	if req.Pts <= 0 {
		return nil, rpcError(400, "PERSISTENT_TIMESTAMP_INVALID")
	}
	limit := req.Limit
	if limit <= 0 || limit > 100000 {
		limit = 100000
	}
	msgs := s.servicesSince(ch.ID, req.Pts)
	if len(msgs) == 0 {
		return &tg.UpdatesChannelDifferenceEmpty{Final: true, Pts: s.channelPts(ch.ID)}, nil
	}
	final := len(msgs) <= limit
	if !final {
		msgs = msgs[:limit]
	}
	out := &tg.UpdatesChannelDifference{Final: final, Pts: msgs[len(msgs)-1].Pts, OtherUpdates: []tg.UpdateClass{}}
	var users []int64
	for _, m := range msgs {
		out.NewMessages = append(out.NewMessages, m.Message)
		users = append(users, serviceUsers(m)...)
	}
	out.Chats = s.chatsTG(c.userID, ch.ID)
	out.Users = s.usersTG(c.userID, users...)
	if out.Users == nil {
		out.Users = []tg.UserClass{}
	}
	return out, nil
}
