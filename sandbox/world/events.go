package world

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Event is something that happened in the world. Subscribers get every
// event, in the order they happened: MemberChanged, JoinRequested,
// JoinRequestResolved, MessageSent, MessageDeleted, ChatCreated,
// UserDeleted, WorldReset.
type Event interface{ isEvent() }

// MemberChanged: someone's membership in a supergroup changed.
type MemberChanged struct {
	ChannelID int64
	Old, New  ChatMember
	// Actor made the change: an admin, the user themselves, the approver.
	Actor int64
	// InviteLink is the link used to join, if any.
	InviteLink     *InviteLink
	ViaJoinRequest bool
	Date           time.Time
}

// JoinRequested: a user asked to join through a creates_join_request link.
type JoinRequested struct {
	ChannelID  int64
	UserID     int64
	InviteLink *InviteLink
	Date       time.Time
	// QueryID is set when the chat's guard bot (GuardBotID) must answer a
	// join-request query: only that bot is told, with the query id.
	QueryID string
	// GuardBotID without QueryID: the guard bot's query ended in the queue
	// (by its answer or its deadline); the request is now the admins', and
	// every admin bot but the guard bot is told.
	GuardBotID int64
}

// JoinRequestResolved: a pending join request was approved or declined.
type JoinRequestResolved struct {
	ChannelID int64
	UserID    int64
	Actor     int64
	Approved  bool
	Date      time.Time
}

// MessageSent: a message was sent.
type MessageSent struct{ Message Message }

// MessageDeleted: a message was deleted.
type MessageDeleted struct {
	ChatID    int64
	MessageID int
	Actor     int64
}

// ChatCreated: a supergroup was created.
type ChatCreated struct{ Chat Chat }

// UserDeleted: a user was deleted (DeleteUser), gone from every chat,
// request and contact list without MemberChanged events.
type UserDeleted struct{ UserID int64 }

// WorldReset: the world was emptied (Reset); only the users in Keep remain.
type WorldReset struct{ Keep []int64 }

func (MemberChanged) isEvent()       {}
func (JoinRequested) isEvent()       {}
func (JoinRequestResolved) isEvent() {}
func (MessageSent) isEvent()         {}
func (MessageDeleted) isEvent()      {}
func (ChatCreated) isEvent()         {}
func (UserDeleted) isEvent()         {}
func (WorldReset) isEvent()          {}

type eventBus struct {
	mu         sync.Mutex
	queue      []Event
	subs       map[int]func(Event)
	next       int
	delivering bool
}

// Subscribe calls fn with every later event, in order, never concurrently
// with itself. Events are delivered on the goroutine that caused them,
// before the causing call returns, unless another goroutine is delivering
// at that moment, in which case that one delivers them (still in order).
// fn may call the world (including changes, whose events follow), but must
// not block for long. A panic in fn is logged (Options.Logger) and does not
// stop delivery. cancel stops the calls.
func (w *World) Subscribe(fn func(Event)) (cancel func()) {
	b := &w.events
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]func(Event){}
	}
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}
}

// emitLocked queues an event; w.mu is held. flush delivers it.
func (w *World) emitLocked(ev Event) {
	b := &w.events
	b.mu.Lock()
	b.queue = append(b.queue, ev)
	b.mu.Unlock()
}

// flush delivers queued events, unless another goroutine (or an outer call
// on this one) is already delivering, in which case that one will.
// Call it after releasing w.mu.
func (w *World) flush() {
	b := &w.events
	for {
		b.mu.Lock()
		if b.delivering || len(b.queue) == 0 {
			b.mu.Unlock()
			return
		}
		b.delivering = true
		ev := b.queue[0]
		b.queue = b.queue[1:]
		subs := make([]func(Event), 0, len(b.subs))
		for i := 0; i < b.next; i++ {
			if fn, ok := b.subs[i]; ok {
				subs = append(subs, fn)
			}
		}
		b.mu.Unlock()
		for _, fn := range subs {
			w.deliver(fn, ev)
		}
		b.mu.Lock()
		b.delivering = false
		b.mu.Unlock()
	}
}

// deliver calls one subscriber with one event. A subscriber that panics is
// logged and skipped: delivery goes on, to the others and with later events.
func (w *World) deliver(fn func(Event), ev Event) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("world: event subscriber panicked", "event", fmt.Sprintf("%T", ev), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn(ev)
}
