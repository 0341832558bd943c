package models

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when the member (or chat) does not exist.
var ErrNotFound = errors.New("not found")

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
