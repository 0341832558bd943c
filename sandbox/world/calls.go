package world

import (
	"sync"
	"time"
)

// Call is one Bot API or MTProto call, as the call log keeps it.
type Call struct {
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

type callLog struct {
	mu    sync.Mutex
	max   int
	calls []Call
}

// RecordCall appends a call to the log (dropping the oldest beyond
// Options.MaxCalls). At is filled from the clock when zero.
func (w *World) RecordCall(c Call) {
	if c.At.IsZero() {
		c.At = w.now()
	}
	l := &w.calls
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	if over := len(l.calls) - l.max; over > 0 {
		l.calls = append([]Call(nil), l.calls[over:]...)
	}
}

// Calls returns the call log, oldest first.
func (w *World) Calls() []Call {
	l := &w.calls
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}
