package sandbox

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// The HTTP wiring: one mux for the Bot API (/bot<token>/…, package botapi)
// and the control API (/sandbox/…, control.go), wrapped in request logging.
// Start serves it; it calls down into both, neither calls back up.

// handler is everything the sandbox serves over HTTP.
func (s *Sandbox) handler() http.Handler {
	mux := http.NewServeMux()
	s.controlRoutes(mux)
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bot") {
			s.botapi.ServeHTTP(rw, r)
			return
		}
		http.NotFound(rw, r)
	})
	return s.logRequests(mux)
}

// controlRoutes lists the control calls, each with the fields it takes
// (from the query string for GET, the body otherwise); any other field is
// refused with a 400.
func (s *Sandbox) controlRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h controlFunc, fields ...string) {
		mux.HandleFunc(pattern, serveControl(pattern, h, fields))
	}
	handle("GET /sandbox/users", s.handleListUsers)
	handle("POST /sandbox/users", s.handleCreateUser, "first_name", "last_name", "username", "phone", "privacy", "password", "language_code", "dc")
	handle("GET /sandbox/users/{id}", s.handleGetUser)
	handle("DELETE /sandbox/users/{id}", s.handleDeleteUser)
	handle("POST /sandbox/users/{id}/messages", s.handleSend, "chat_id", "text", "anonymous")
	handle("GET /sandbox/users/{id}/messages", s.handleReceived)
	handle("POST /sandbox/users/{id}/contact", s.handleContact)
	handle("POST /sandbox/users/{id}/join", s.handleJoin, "invite_link")
	handle("POST /sandbox/users/{id}/leave", s.handleLeave, "chat_id")
	handle("POST /sandbox/users/{id}/block", s.handleBlock, "blocked")
	handle("POST /sandbox/users/{id}/privacy", s.handlePrivacy, "privacy")
	handle("POST /sandbox/users/{id}/restrict", s.handleRestrict, "restricted")
	handle("POST /sandbox/users/{id}/ban_account", s.handleBanAccount, "banned")
	handle("POST /sandbox/users/{id}/send_code", s.handleSendCodeAnswer, "answer")
	handle("POST /sandbox/users/{id}/scan", s.handleScan, "url")
	handle("POST /sandbox/users/{id}/webapp", s.handleWebApp, "url")
	handle("GET /sandbox/chats", s.handleListChats)
	handle("POST /sandbox/chats", s.handleCreateChat, "title", "creator", "about", "basic")
	handle("POST /sandbox/chats/{chat_id}/upgrade", s.handleUpgrade)
	handle("POST /sandbox/chats/{chat_id}/admins", s.handleMakeAdmin, "user_id", "rights")
	handle("GET /sandbox/chats/{chat_id}/members", s.handleMembers, "banned")
	handle("GET /sandbox/chats/{chat_id}/links", s.handleLinks)
	handle("GET /sandbox/chats/{chat_id}/requests", s.handleRequests)
	handle("GET /sandbox/chats/{chat_id}/messages", s.handleChatMessages, "as")
	handle("POST /sandbox/chats/{chat_id}/ephemeral", s.handleEphemeral, "allowed")
	handle("GET /sandbox/codes/{phone}", s.handleCode)
	handle("GET /sandbox/calls", s.handleCalls, "api", "method", "since")
	handle("POST /sandbox/users/{id}/press", s.handlePress, "message_id", "data", "chat_id")
	handle("POST /sandbox/users/{id}/share_chat", s.handleShareChat, "request_id", "chat_id")
	handle("GET /sandbox/callbacks/{query_id}", s.handleCallbackAnswer)
	handle("POST /sandbox/chats/{chat_id}/guard_bot", s.handleGuardBot, "user_id")
	handle("POST /sandbox/faults", s.handleFaults, "rate", "seed", "kinds")
	handle("GET /sandbox/faults", s.handleGetFaults)
	handle("POST /sandbox/refusals", s.handleRefuse, "method", "error", "user_id", "chat_id", "times")
	handle("POST /sandbox/bot/quiet", s.handleQuiet)
	handle("POST /sandbox/bot/groups", s.handleBotGroups, "allowed")
	handle("POST /sandbox/reset", s.handleReset)
	s.oidcRoutes(mux, handle)
	handle("GET /sandbox/{$}", s.handleIndex)
	mux.HandleFunc("/sandbox/", func(rw http.ResponseWriter, r *http.Request) {
		writeControlError(rw, notFound("no such control call: %s %s", r.Method, r.URL.Path))
	})
}

// logRequests logs each HTTP request at debug level, the token masked.
func (s *Sandbox) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(rw, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: rw, status: http.StatusOK}
		defer func() {
			path := r.URL.Path
			if rest, ok := strings.CutPrefix(path, "/bot"); ok {
				if _, method, ok := strings.Cut(rest, "/"); ok {
					path = "/bot***/" + method
				}
			}
			s.log.Debug("http", "method", r.Method, "path", path, "status", rec.status, "took", time.Since(start).Round(time.Microsecond))
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
