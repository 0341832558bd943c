package world

import (
	"sync"
	"time"
)

// Call is one Bot API or MTProto call, as the call log keeps it.
type Call struct {
	// Seq numbers the calls from 0, in the order they were recorded; it
	// keeps counting when the oldest calls drop out of the log.
	Seq int `json:"seq"`
	// API is "bot" or "mtproto".
	API string `json:"api"`
	// Account is the bot or user that made the call, if known.
	Account int64  `json:"account,omitempty"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
	Result  any    `json:"result,omitempty"`
	Error   string `json:"error,omitempty"`
	// Fault is the injected fault, if any.
	Fault string    `json:"fault,omitempty"`
	At    time.Time `json:"at"`
}

// callLog is a ring of the last max calls: recording one is O(1) however
// long the world runs.
type callLog struct {
	mu    sync.Mutex
	max   int
	ring  []Call // grows to max, then wraps
	next  int    // where the next call goes once the ring is full
	total int    // calls ever recorded: the next Seq
}

// RecordCall appends a call to the log (dropping the oldest beyond
// Options.MaxCalls) and numbers it (Seq). At is filled from the clock when
// zero.
func (w *World) RecordCall(c Call) {
	if c.At.IsZero() {
		c.At = w.now()
	}
	l := &w.calls
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Seq = l.total
	l.total++
	if len(l.ring) < l.max {
		l.ring = append(l.ring, c)
		return
	}
	l.ring[l.next] = c
	l.next = (l.next + 1) % l.max
}

// Calls returns the call log, oldest first.
func (w *World) Calls() []Call { return w.CallsSince(0) }

// CallsSince returns the calls in the log numbered seq or later (Call.Seq),
// oldest first: a caller that remembers how many calls it has seen gets
// only the new ones, even once the oldest have dropped out of the log.
func (w *World) CallsSince(seq int) []Call {
	l := &w.calls
	l.mu.Lock()
	defer l.mu.Unlock()
	first := l.total - len(l.ring) // Seq of the oldest call kept
	skip := min(max(seq-first, 0), len(l.ring))
	out := make([]Call, 0, len(l.ring)-skip)
	for i := skip; i < len(l.ring); i++ {
		out = append(out, l.ring[(l.next+i)%len(l.ring)])
	}
	return out
}
