package botapi

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// defaultAllowed is what a bot gets until it names allowed_updates: every
// type except chat_member, message_reaction and message_reaction_count.
var defaultAllowed = []string{"message", "callback_query", "my_chat_member", "chat_join_request"}

// updateTTL is how long Telegram keeps an undelivered update.
const updateTTL = 24 * time.Hour

// botState is one bot's update queue, webhook and commands.
type botState struct {
	id int64

	mu       sync.Mutex
	nextID   int64
	queue    []queued
	max      int      // Options.MaxPendingUpdates
	allowed  []string // nil: defaultAllowed
	notify   chan struct{}
	quiets   int64 // how many quiet weeks were played (Quiet)
	poller   int64 // generation of the current getUpdates call
	pollStop chan struct{}
	webhook  *webhook
	commands map[string][]apiBotCommand // scope and language → commands (commands.go)
}

type queued struct {
	u  apiUpdate
	at time.Time
}

func (s *Server) bot(id int64) *botState {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bots[id]
	if !ok {
		b = &botState{id: id, nextID: 1, notify: make(chan struct{}), max: s.opts.MaxPendingUpdates}
		s.bots[id] = b
	}
	return b
}

// wants reports whether the bot asked for updates of kind.
func (b *botState) wants(kind string) bool {
	allowed := b.allowed
	if allowed == nil {
		allowed = defaultAllowed
	}
	return slices.Contains(allowed, kind)
}

// push queues an update if the bot wants its kind, and wakes pollers and
// the webhook.
func (b *botState) push(u apiUpdate, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.wants(u.kind()) {
		return
	}
	u.UpdateID = b.nextID
	b.nextID++
	b.queue = append(b.queue, queued{u: u, at: now})
	if over := len(b.queue) - b.max; over > 0 {
		clear(b.queue[:over])
		b.queue = b.queue[over:]
	}
	close(b.notify)
	b.notify = make(chan struct{})
}

// pruneLocked drops acknowledged and expired updates. An update counts as
// confirmed once getUpdates is called with an offset higher than its id
// (the Bot API's words), wherever it stands in the queue: after a quiet
// week ids start again lower, and an offset left from before confirms them
// unseen.
func (b *botState) pruneLocked(offset int64, now time.Time) {
	b.queue = slices.DeleteFunc(b.queue, func(q queued) bool {
		return q.u.UpdateID < offset || now.Sub(q.at) > updateTTL
	})
}

// Quiet plays a week without updates for the bot: what was waiting has
// expired, and the next update_id is chosen at random, lower than the last
// one given (the Bot API: "If there are no new updates for at least a
// week, then identifier of the next update will be chosen randomly instead
// of sequentially"). It returns the next update_id.
func (s *Server) Quiet(botID int64) int64 {
	b := s.bot(botID)
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.queue)
	b.queue = nil
	// A long poll in flight has long timed out: it answers empty.
	b.quiets++
	close(b.notify)
	b.notify = make(chan struct{})
	last := b.nextID - 1
	if last <= 1 {
		b.nextID = 1
	} else {
		b.nextID = 1 + rand.Int64N(last-1) // in [1, last-1]
	}
	return b.nextID
}

func (b *botState) pending(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(0, now)
	return len(b.queue)
}

// onEvent turns world events into updates for the bots that would get them.
func (s *Server) onEvent(ev world.Event) {
	now := s.w.Now()
	switch e := ev.(type) {
	case world.MessageSent:
		s.onMessage(e.Message, now)
	case world.JoinRequested:
		s.onJoinRequest(e, now)
	case world.MemberChanged:
		s.onMemberChanged(e, now)
	case world.CallbackQueried:
		s.onCallbackQuery(e.Query, now)
	case world.WorldReset:
		s.dropPending()
	}
}

// dropPending empties every bot's queue after a world reset: its updates
// speak of people and chats that are gone. Update ids keep counting, so a
// bot's offset stays valid.
func (s *Server) dropPending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bots {
		b.mu.Lock()
		clear(b.queue)
		b.queue = nil
		b.mu.Unlock()
	}
}

func (s *Server) onMessage(m world.Message, now time.Time) {
	from, _ := s.w.User(m.FromID)
	if from.IsBot {
		return // bots never see other bots' messages
	}
	if m.ChannelID == 0 {
		to, ok := s.w.User(m.ToID)
		if !ok || !to.IsBot {
			return
		}
		am := s.message(m, to.ID)
		s.bot(to.ID).push(apiUpdate{Message: &am}, now)
		return
	}
	// Bots in privacy mode see commands; admins see everything.
	for _, cm := range s.w.BotMembers(m.ChannelID) {
		if cm.User.ID == m.FromID {
			continue
		}
		admin := cm.Status == world.StatusCreator || cm.Status == world.StatusAdministrator
		isCommand := len(m.Entities) > 0 && m.Entities[0].Type == "bot_command" && m.Entities[0].Offset == 0
		service := m.MigrateToChatID != 0 || m.MigrateFromChatID != 0 // every bot gets service messages
		if admin || isCommand || service {
			am := s.message(m, cm.User.ID)
			s.bot(cm.User.ID).push(apiUpdate{Message: &am}, now)
		}
	}
}

// message renders m as viewer (a bot) sees it.
func (s *Server) message(m world.Message, viewerID int64) apiMessage {
	from, _ := s.w.User(m.FromID)
	fu := toUser(from)
	am := apiMessage{MessageID: m.ID, From: &fu, Date: unix(m.Date), Text: m.Text, Entities: m.Entities, Contact: m.Contact,
		ChatShared: m.ChatShared, EditDate: unix(m.EditDate), ReplyMarkup: inlineMarkup(m.ReplyMarkup)}
	am.MigrateToChatID, am.MigrateFromChatID = m.MigrateToChatID, m.MigrateFromChatID
	if m.ChannelID != 0 {
		c, _ := s.w.Chat(m.ChannelID)
		am.Chat = groupChat(c)
		if m.ChatAs != 0 {
			am.Chat.ID, am.Chat.Type = m.ChatAs, "group" // sent while a basic group
		}
		if m.Anonymous {
			anon, sc := toUser(world.GroupAnonymousBot), am.Chat
			am.From, am.SenderChat = &anon, &sc
		}
	} else {
		other, _ := s.w.User(m.ChatIDFor(viewerID))
		am.Chat = privateChat(other)
	}
	if m.ReceiverID != 0 {
		r, _ := s.w.User(m.ReceiverID)
		ru := toUser(r)
		am.MessageID, am.EphemeralMessageID, am.ReceiverUser = 0, m.ID, &ru
	}
	return am
}

func (s *Server) onJoinRequest(e world.JoinRequested, now time.Time) {
	c, ok := s.w.Chat(e.ChannelID)
	if !ok {
		return
	}
	u, _ := s.w.User(e.UserID)
	for _, a := range s.w.Admins(e.ChannelID) {
		if !a.User.IsBot || !(a.Status == world.StatusCreator || a.Rights.CanInviteUsers) {
			continue
		}
		// A guard bot's query goes to it alone; once queued, the request
		// goes to the other admin bots.
		if (e.QueryID != "") != (a.User.ID == e.GuardBotID) && e.GuardBotID != 0 {
			continue
		}
		jr := &apiChatJoinRequest{Chat: groupChat(c), From: toUser(u), UserChatID: u.ID, Date: unix(e.Date), QueryID: e.QueryID}
		if e.InviteLink != nil {
			creator, _ := s.w.User(e.InviteLink.CreatorID)
			jr.InviteLink = toInviteLink(*e.InviteLink, creator, a.User.ID)
		}
		s.bot(a.User.ID).push(apiUpdate{ChatJoinRequest: jr}, now)
	}
}

func (s *Server) onMemberChanged(e world.MemberChanged, now time.Time) {
	c, ok := s.w.Chat(e.ChannelID)
	if !ok {
		return
	}
	actor, _ := s.w.User(e.Actor)
	build := func(viewer int64) *apiChatMemberUpdated {
		u := &apiChatMemberUpdated{
			Chat: groupChat(c), From: toUser(actor), Date: unix(e.Date),
			OldChatMember: toChatMember(e.Old, viewer), NewChatMember: toChatMember(e.New, viewer),
			ViaJoinRequest: e.ViaJoinRequest,
		}
		if e.InviteLink != nil {
			creator, _ := s.w.User(e.InviteLink.CreatorID)
			u.InviteLink = toInviteLink(*e.InviteLink, creator, viewer)
		}
		return u
	}
	subject := e.New.User
	if subject.IsBot {
		s.bot(subject.ID).push(apiUpdate{MyChatMember: build(subject.ID)}, now)
	}
	// chat_member goes to administrator bots (before or after the change).
	admins := map[int64]bool{}
	for _, a := range s.w.Admins(e.ChannelID) {
		if a.User.IsBot && a.User.ID != subject.ID {
			admins[a.User.ID] = true
		}
	}
	ids := make([]int64, 0, len(admins))
	for id := range admins {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.bot(id).push(apiUpdate{ChatMember: build(id)}, now)
	}
}

// getUpdates: long polling. Refused with 409 while a webhook is set; a newer
// getUpdates call ends an older one with 409, as Telegram does.
func (s *Server) getUpdates(ctx context.Context, c *call) (any, error) {
	b := c.state
	offset := c.p.int64("offset")
	limit := c.p.int("limit")
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout := time.Duration(c.p.int("timeout")) * time.Second
	if timeout < 0 {
		timeout = 0
	}
	timeout = min(timeout, s.opts.MaxPollTimeout)
	allowed, err := c.p.strings("allowed_updates")
	if err != nil {
		return nil, err
	}

	b.mu.Lock()
	if b.webhook != nil {
		b.mu.Unlock()
		return nil, &world.Error{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	if c.p.has("allowed_updates") {
		b.allowed = allowedList(allowed)
	}
	if b.pollStop != nil {
		close(b.pollStop)
	}
	b.poller++
	gen := b.poller
	quiets := b.quiets
	stop := make(chan struct{})
	b.pollStop = stop
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		if b.poller == gen {
			b.pollStop = nil
		}
		b.mu.Unlock()
	}()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	for {
		b.mu.Lock()
		now := s.w.Now()
		if offset < 0 {
			if n := int(-offset); n < len(b.queue) {
				b.queue = b.queue[len(b.queue)-n:]
			}
			offset = 0
		}
		if b.quiets != quiets {
			b.mu.Unlock()
			return []apiUpdate{}, nil // a quiet week passed during this call
		}
		b.pruneLocked(offset, now)
		if len(b.queue) > 0 || timeout == 0 {
			out := make([]apiUpdate, 0, min(limit, len(b.queue)))
			for i := 0; i < len(b.queue) && i < limit; i++ {
				out = append(out, b.queue[i].u)
			}
			b.mu.Unlock()
			return out, nil
		}
		notify := b.notify
		b.mu.Unlock()
		select {
		case <-notify:
		case <-timer:
			return []apiUpdate{}, nil
		case <-stop:
			return nil, &world.Error{Code: 409, Description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.ctx.Done():
			return []apiUpdate{}, nil
		}
	}
}

// allowedList normalises allowed_updates: an empty list means the default.
func allowedList(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	return append([]string(nil), in...)
}
