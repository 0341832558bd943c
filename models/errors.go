package models

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// ErrNotFound is returned when the member (or chat) does not exist.
var ErrNotFound = errors.New("not found")

// ErrNotBound means a chat of the rules has no Telegram group bound to it
// yet, for work that needs one.
var ErrNotBound = errors.New("the chat is not bound to a Telegram group")

// ErrBusy means a change could not start before its context was done: the
// database's write slot (SQLite's one write connection, MySQL's pool) stayed
// taken, by a bulk import say. Nothing was written; the caller may try again
// later.
var ErrBusy = errors.New("database busy")

// InputError is input that breaks a rule: which field and why, in words a
// website developer can act on.
type InputError struct {
	Field  string
	Detail string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Detail
	}
	return e.Field + ": " + e.Detail
}

func inputErrorf(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Unreachable reports whether err means the database could not be reached
// (connection refused or reset, a connection gone bad mid-statement)
// rather than that it refused a statement: the same call may work once the
// database is back. The API answers 503 for it, the webhook asks Telegram
// to deliver again, and the background loops back off.
func Unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysqldriver.ErrInvalidConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}
