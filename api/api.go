package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/models"
)

// Linker issues deep links for members to link their Telegram account. The
// bot provides it; without one, the link endpoint answers 503.
type Linker interface {
	LinkURL(ctx context.Context, memberID string) (url string, expires time.Time, err error)
}

// Options configures the API; Store and APIKey are required.
type Options struct {
	Store  *models.Store
	APIKey string
	Linker Linker
	// Userbots logs userbot accounts in and out; nil when the pool is off.
	Userbots Userbots
	Logger   *slog.Logger
	Registry *prometheus.Registry // where metrics go; a new one by default
	Version  string
}

// Server is the HTTP API.
type Server struct {
	store    *models.Store
	keyHash  [sha256.Size]byte
	linker   Linker
	userbots Userbots
	log      *slog.Logger
	reg      *prometheus.Registry
	metrics  *metrics
	version  string
	mux      *http.ServeMux
}

// New builds the API handler.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		store:    opts.Store,
		keyHash:  sha256.Sum256([]byte(opts.APIKey)),
		linker:   opts.Linker,
		userbots: opts.Userbots,
		log:      opts.Logger,
		reg:      opts.Registry,
		version:  opts.Version,
		mux:      http.NewServeMux(),
	}
	s.metrics = newMetrics(s.reg, s.store)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz, false)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.handle("GET /api/v1", s.index, true)
	s.handle("GET /api/v1/members", s.listMembers, true)
	s.handle("GET /api/v1/members/{id}", s.getMember, true)
	s.handle("PUT /api/v1/members/{id}", s.putMember, true)
	s.handle("DELETE /api/v1/members/{id}", s.deleteMember, true)
	s.handle("POST /api/v1/members/{id}/karma", s.addKarma, true)
	s.handle("POST /api/v1/members/{id}/link", s.link, true)
	s.handle("PUT /api/v1/members/{id}/overrides/{chat}", s.setOverride, true)
	s.handle("POST /api/v1/members/bulk", s.bulk, true)
	s.handle("GET /api/v1/chats", s.chats, true)
	s.handle("GET /api/v1/events", s.events, true)
	s.userbotRoutes()
	s.handle("/api/", func(w http.ResponseWriter, r *http.Request) error {
		return problem(http.StatusNotFound, "no-such-route", "no such API route: "+r.Method+" "+r.URL.Path+"; GET /api/v1 lists them")
	}, true)
}

// handlerFunc is a handler that returns its error for writeError.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// handle registers a route with auth, metrics and error mapping.
func (s *Server) handle(pattern string, h handlerFunc, auth bool) {
	route := pattern
	s.mux.Handle(pattern, s.metrics.instrument(route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth && !s.authorized(r) {
			s.writeError(w, r, problem(http.StatusUnauthorized, "unauthorized", "missing or wrong API key: send Authorization: Bearer <KARMAGATE_API_KEY>"))
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})))
}

// authorized compares the bearer key in constant time (hashing first, so
// neither the content nor the length of the key leaks through timing).
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(key)))
	return subtle.ConstantTimeCompare(got[:], s.keyHash[:]) == 1
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	db := s.store.DB()
	out := map[string]any{"status": "ok", "database": string(db.Dialect()), "version": s.version}
	if err := db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "health: database unreachable", "err", err)
		out["status"], out["error"] = "unavailable", "database unreachable"
		writeJSON(w, http.StatusServiceUnavailable, out)
		return nil
	}
	if err := db.CheckSchema(ctx); err != nil {
		out["status"], out["error"] = "unavailable", err.Error()
		writeJSON(w, http.StatusServiceUnavailable, out)
		return nil
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"_links": map[string]any{
			"self":    link("/api/v1"),
			"members": link("/api/v1/members"),
			"member":  map[string]any{"href": "/api/v1/members/{id}", "templated": true},
			"bulk":    link("/api/v1/members/bulk"),
			"chats":   link("/api/v1/chats"),
			"events":  link("/api/v1/events"),
		},
	})
	return nil
}

func link(href string) map[string]string { return map[string]string{"href": href} }

// writeContext is the context a change runs in. A write that has started
// finishes even if the website hangs up: rolling it back would only make the
// website send it again, and the database's own timeouts bound a stuck
// server. It also spares the MySQL driver a cancellation watcher per
// statement.
func writeContext(r *http.Request) context.Context {
	return context.WithoutCancel(r.Context())
}
