package api

import (
	"encoding/json"
	"errors"
	"net/http"

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
}

// ItemError is one bad entry of a bulk request.
type ItemError struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string { return p.Detail }

// problem builds a problem of a kind; the type URI names the kind.
func problem(status int, kind, detail string) *Problem {
	return &Problem{Type: "urn:karmagate:problem:" + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

// writeError maps any error to a problem response: the one place errors
// become HTTP statuses.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var ie *models.InputError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &ie):
		p = problem(http.StatusUnprocessableEntity, "invalid-field", ie.Error())
		p.Field = ie.Field
	case errors.Is(err, models.ErrNotFound):
		p = problem(http.StatusNotFound, "not-found", err.Error())
	case errors.Is(err, models.ErrAlreadyLinked):
		p = problem(http.StatusConflict, "already-linked", err.Error())
	case r.Context().Err() != nil:
		p = problem(http.StatusServiceUnavailable, "cancelled", "the request was cancelled or timed out")
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem(http.StatusInternalServerError, "internal", "internal error; the server log has the details")
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="karmagate"`)
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
