package worker

import (
	"errors"
	"fmt"
	"time"
)

// RetryError asks for the action to run again at At, and not before: the
// executor learnt the exact time from Telegram (retry_after, FLOOD_WAIT_X)
// or from its own pacing. It does not count as a failed attempt.
type RetryError struct {
	At  time.Time
	Err error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("retry at %s: %v", e.At.UTC().Format(time.RFC3339), e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// RetryAt returns an error asking for a retry at t.
func RetryAt(t time.Time, err error) error { return &RetryError{At: t, Err: err} }

// permanentError is an error no retry can mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot mend (the chat is gone,
// the bot was removed from it, the member blocked the bot): the action is
// parked at once with err as its reason.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ErrNoExecutor means no executor is registered for an action's kind.
var ErrNoExecutor = errors.New("no executor for this kind of action")

// NothingToDoError is an executor's answer that the action needed nothing
// done (the person was not in the chat to remove, already in it to
// invite): the action is complete, and the audit trail says why nothing
// was done instead of "done".
type NothingToDoError struct{ Reason string }

func (e *NothingToDoError) Error() string { return "nothing to do: " + e.Reason }

// NothingToDo returns the answer that the action needed nothing done,
// and why.
func NothingToDo(reason string) error { return &NothingToDoError{Reason: reason} }

// ErrNotYet is the cause of a RetryError an executor returns before it
// started anything, because what it must do cannot go yet (the person's
// chat is behind its pace): the action is handed back unstarted, with no
// entry in the audit trail, and the worker takes other work meanwhile.
var ErrNotYet = errors.New("not its turn yet: handed back unstarted")

// Later returns the answer that the action has not started and should run
// at t.
func Later(t time.Time) error { return &RetryError{At: t, Err: ErrNotYet} }
