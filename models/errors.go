package models

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when the member (or chat) does not exist.
var ErrNotFound = errors.New("not found")

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

// ErrBusy means a write could not start before its context ran out: other
// writes held the database.
var ErrBusy = errors.New("database busy")
