package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/karmagate/karmagate/models"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Field    string         `json:"field,omitempty"`
	Errors   []ItemError    `json:"errors,omitempty"`
	Extra    map[string]any `json:"-"`

	header http.Header // sent with the problem: Allow, Retry-After
}

// ItemError is one bad entry of a bulk request.
type ItemError struct {
	Index  int    `json:"index"`
	Line   int    `json:"line,omitempty"` // NDJSON: the entry's line
	ID     string `json:"id,omitempty"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string { return p.Detail }

// problem builds a problem of a kind; the type URI names the kind.
func problem(status int, kind, detail string) *Problem {
	return &Problem{Type: "urn:karmagate:problem:" + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

// maxInstance bounds the request path a problem echoes.
const maxInstance = 256

// busy is a 503 that asks the client to come back: the database or the
// bulk turns are taken by other work.
func (s *Server) busy(kind, detail string) *Problem {
	p := problem(http.StatusServiceUnavailable, kind, detail)
	p.header = http.Header{"Retry-After": {strconv.Itoa(s.retryAfter())}}
	return p
}

// retryAfter is the Retry-After of a busy answer, in seconds: as long as
// the request waited.
func (s *Server) retryAfter() int { return max(1, int(math.Ceil(s.writeWait.Seconds()))) }

// writeError maps any error to a problem response: the one place errors
// become HTTP statuses. Every error of the store has its status here
// (TestServer_WriteErrorMapsEveryStoreError keeps it so); anything else is
// a 500 with the details in the log only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var ie *models.InputError
	var mbe *http.MaxBytesError
	var passing interface{ ServiceUnavailable() bool }
	switch {
	case errors.As(err, &p):
	case errors.As(err, &ie):
		p = problem(http.StatusUnprocessableEntity, "invalid-field", ie.Error())
		p.Field = ie.Field
	case errors.Is(err, models.ErrNotFound):
		p = problem(http.StatusNotFound, "not-found", err.Error())
	case errors.Is(err, models.ErrAlreadyLinked):
		p = problem(http.StatusConflict, "already-linked", err.Error())
	case errors.Is(err, models.ErrChatBound):
		p = problem(http.StatusConflict, "chat-bound", err.Error())
	case errors.Is(err, models.ErrNotBound):
		p = problem(http.StatusConflict, "chat-not-bound", err.Error())
	case errors.Is(err, models.ErrLeaseLost):
		p = problem(http.StatusConflict, "lease-lost", err.Error())
	case errors.Is(err, models.ErrUserbotExists):
		p = problem(http.StatusConflict, "userbot-exists", err.Error())
	case errors.Is(err, models.ErrBindCode):
		p = problem(http.StatusConflict, "bind-code", err.Error())
	case errors.Is(err, models.ErrLoginUnknown), errors.Is(err, models.ErrLoginUsed), errors.Is(err, models.ErrLoginExpired):
		// Log in with Telegram's returns (package login); no API route
		// spends one today.
		p = problem(http.StatusConflict, "login-refused", err.Error())
	case errors.As(err, &mbe):
		p = problem(http.StatusRequestEntityTooLarge, "body-too-large", fmt.Sprintf("the body is larger than the %d bytes allowed here", mbe.Limit))
	case errors.As(err, &passing) && passing.ServiceUnavailable():
		// Telegram not reached yet (the bot keeps trying): try again soon.
		p = s.busy("telegram-unavailable", err.Error())
	case r.Context().Err() != nil:
		p = problem(http.StatusServiceUnavailable, "cancelled", "the request was cancelled or timed out")
	case errors.Is(err, models.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		// The request is alive, so the deadline that passed is the write's
		// bounded wait.
		s.log.WarnContext(r.Context(), "database busy", "method", r.Method, "path", r.URL.Path, "err", err)
		p = s.busy("database-busy", fmt.Sprintf("the database is busy with other writes (waited %s); try again later", s.writeWait))
	case models.Unreachable(err):
		// The database is away (a restart, say): /healthz says so too.
		s.log.WarnContext(r.Context(), "database unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
		p = s.busy("database-unavailable", "the database cannot be reached right now; try again later")
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem(http.StatusInternalServerError, "internal", "internal error; the server log has the details")
	}
	if p.Instance == "" {
		p.Instance = truncate(r.URL.Path, maxInstance)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="karmagate"`)
	}
	for k, v := range p.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		s.log.DebugContext(r.Context(), "write problem", "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}
