package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
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
	// LinkURL's link, used by another Telegram account than the member's,
	// moves nothing until the member's account confirms.
	LinkURL(ctx context.Context, memberID string) (url string, expires time.Time, err error)
	// ReplaceLinkURL's link moves the member to the account that uses it
	// without asking the one linked now ({"replace": true}).
	ReplaceLinkURL(ctx context.Context, memberID string) (url string, expires time.Time, err error)
}

// Options configures the API; Store and APIKey are required.
type Options struct {
	Store  *models.Store
	APIKey string
	// MetricsToken, when set, is the bearer token GET /metrics needs
	// (KARMAGATE_METRICS_TOKEN); without one, /metrics is open and must
	// not be reachable from outside (nginx does not pass it on).
	MetricsToken string
	Linker       Linker
	// Widget links members through the Telegram Login Widget (the bot).
	Widget WidgetLinker
	// Userbots logs userbot accounts in and out; nil when the pool is off.
	Userbots Userbots
	// People counts who is inside a chat (the bot); nil: GET
	// /api/v1/chats/{key} shows the last count recorded.
	People PeopleCounter
	// LoginURLs signs links to Log in with Telegram; nil when it is off.
	LoginURLs LoginURLs
	// AdminToken (KARMAGATE_ADMIN_TOKEN) is the bearer token of the
	// userbot pool's routes, which the website's APIKey never opens;
	// empty, those routes are off.
	AdminToken string
	Logger     *slog.Logger
	Registry   *prometheus.Registry // where metrics go; a new one by default
	Version    string
	// WriteWait bounds how long a change waits for the database while other
	// writes hold it (SQLite has one writer; MySQL locks the member's row),
	// and how long a bulk import waits for its turn; then the answer is 503
	// with Retry-After. 10 s by default.
	WriteWait time.Duration
	// WakeWorkers, when set, is called when a call released outbox actions
	// (confirmed removals), so that the workers look at once.
	WakeWorkers func()
	// MaxBulk is how many bulk imports run at once (each holds its members
	// in memory while it runs); 2 by default.
	MaxBulk int
	// Degraded, when set, says why the service works only in part ("" when
	// it works fully): Telegram's Bot API unreachable, say. /healthz then
	// answers 200 with status "degraded" and the reason.
	Degraded func() string
	// Group configures the group commit of single-member writes (PUT
	// /api/v1/members/{id}, POST /api/v1/members/{id}/karma): concurrent
	// ones share a transaction, each answered after the shared commit.
	// The zero value works.
	Group models.GroupOptions
	// AfterWrite, when set, is called after the answer to a PUT of a member
	// or a karma change was sent: a crash test's failpoint.
	AfterWrite func()
}

// Defaults of Options.
const (
	DefaultWriteWait = 10 * time.Second
	DefaultMaxBulk   = 2
)

// Server is the HTTP API.
type Server struct {
	store     *models.Store
	keyHash   [sha256.Size]byte
	adminHash [sha256.Size]byte
	hasAdmin  bool // an admin token is set
	// metricsHash is the hash of the metrics token; nil: /metrics is open.
	metricsHash *[sha256.Size]byte
	linker      Linker
	people      PeopleCounter
	widget      WidgetLinker
	userbots    Userbots
	loginURLs   LoginURLs
	log         *slog.Logger
	reg         *prometheus.Registry
	metrics     *metrics
	version     string
	writeWait   time.Duration
	bulkTurns   chan struct{} // one per bulk import running
	mux         *http.ServeMux
	refusals    map[string]bool // patterns registered only to answer 405
	wake        func()
	degraded    func() string
	group       *models.GroupCommit
	afterWrite  func()
}

// New builds the API handler.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.WriteWait <= 0 {
		opts.WriteWait = DefaultWriteWait
	}
	if opts.MaxBulk <= 0 {
		opts.MaxBulk = DefaultMaxBulk
	}
	s := &Server{
		store:     opts.Store,
		keyHash:   sha256.Sum256([]byte(opts.APIKey)),
		adminHash: sha256.Sum256([]byte(opts.AdminToken)),
		// The API key never doubles as the admin token.
		hasAdmin:   opts.AdminToken != "" && opts.AdminToken != opts.APIKey,
		linker:     opts.Linker,
		widget:     opts.Widget,
		userbots:   opts.Userbots,
		people:     opts.People,
		loginURLs:  opts.LoginURLs,
		log:        opts.Logger,
		reg:        opts.Registry,
		version:    opts.Version,
		writeWait:  opts.WriteWait,
		bulkTurns:  make(chan struct{}, opts.MaxBulk),
		mux:        http.NewServeMux(),
		refusals:   map[string]bool{},
		wake:       opts.WakeWorkers,
		degraded:   opts.Degraded,
		group:      models.NewGroupCommit(opts.Store, opts.Group),
		afterWrite: opts.AfterWrite,
	}
	if opts.MetricsToken != "" {
		h := sha256.Sum256([]byte(opts.MetricsToken))
		s.metricsHash = &h
	}
	s.metrics = newMetrics(s.reg, s.store, s.log)
	s.routes()
	return s
}

// noQuery refuses a query string on a route that takes none (400, as on
// every route: an unknown or repeated parameter is a mistake to report,
// not to ignore).
func noQuery(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := query(r); err != nil {
			return err
		}
		return h(w, r)
	}
}

func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz, false)
	s.mux.Handle("GET /metrics", s.metricsHandler())
	s.handle("GET /api/v1", noQuery(s.index), true)
	s.handle("GET /api/v1/members", s.listMembers, true)
	s.handle("GET /api/v1/members/{id}", noQuery(s.getMember), true)
	s.handle("PUT /api/v1/members/{id}", noQuery(s.putMember), true)
	s.handle("DELETE /api/v1/members/{id}", s.deleteMember, true)
	s.handle("GET /api/v1/members/{id}/export", s.exportMember, true)
	s.handle("POST /api/v1/members/{id}/karma", noQuery(s.addKarma), true)
	s.handle("POST /api/v1/members/{id}/link", noQuery(s.link), true)
	s.handle("POST /api/v1/members/{id}/login-url", noQuery(s.loginURL), true)
	s.handle("POST /api/v1/members/{id}/telegram-login", noQuery(s.telegramLogin), true)
	s.handle("PUT /api/v1/members/{id}/overrides/{chat}", noQuery(s.setOverride), true)
	s.handle("POST /api/v1/members/bulk", noQuery(s.bulk), true)
	// Without these, the member routes would take "bulk" for a member id.
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		pattern := m + " /api/v1/members/bulk"
		s.refusals[pattern] = true
		s.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
			return methodNotAllowed(r, []string{http.MethodPost})
		}, true)
	}
	s.handle("GET /api/v1/chats", s.chats, true)
	s.handle("GET /api/v1/events", s.events, true)
	s.handle("GET /api/v1/instances", s.instances, true)
	s.handle("GET /api/v1/chats/{key}", s.chat, true)
	s.handle("GET /api/v1/chats/{key}/pending", s.pending, true)
	s.handle("POST /api/v1/chats/{key}/pending/confirm", s.confirmPending, true)
	s.handle("POST /api/v1/chats/{key}/bind-codes", s.bindCode, true)
	s.userbotRoutes()
	// Whatever no route takes: 405 when another method would do, else 404,
	// as problems (the mux's own answers are plain text).
	s.mux.Handle("/", s.metrics.instrument("unmatched", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") && !s.authorized(r) {
			s.writeError(w, r, unauthorized())
			return
		}
		if allow := s.allowed(r); len(allow) > 0 {
			s.writeError(w, r, methodNotAllowed(r, allow))
			return
		}
		what := "route"
		if strings.HasPrefix(r.URL.Path, "/api/") {
			what = "API route"
		}
		s.writeError(w, r, problem(http.StatusNotFound, "no-such-route", fmt.Sprintf("no such %s: %s %s; GET /api/v1 lists them", what, truncate(r.Method, 20), truncate(r.URL.Path, 100))))
	})))
}

// allowed lists the methods some route takes at r's path.
func (s *Server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" && !s.refusals[pattern] {
			out = append(out, m)
		}
	}
	return out
}

func methodNotAllowed(r *http.Request, allow []string) *Problem {
	p := problem(http.StatusMethodNotAllowed, "method-not-allowed",
		fmt.Sprintf("%s is not allowed on %s; use %s", truncate(r.Method, 20), truncate(r.URL.Path, 100), strings.Join(allow, ", ")))
	p.header = http.Header{"Allow": {strings.Join(allow, ", ")}}
	return p
}

func unauthorized() *Problem {
	return problem(http.StatusUnauthorized, "unauthorized", "missing or wrong API key: send Authorization: Bearer <KARMAGATE_API_KEY>")
}

// handlerFunc is a handler that returns its error for writeError.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// handle registers a route with auth (the API key), metrics and error
// mapping.
func (s *Server) handle(pattern string, h handlerFunc, auth bool) {
	s.route(pattern, h, func(r *http.Request) *Problem {
		if auth && !s.authorized(r) {
			return unauthorized()
		}
		return nil
	})
}

// handleAdmin registers a route that takes the admin token, not the API
// key.
func (s *Server) handleAdmin(pattern string, h handlerFunc) {
	s.route(pattern, h, s.adminAuth)
}

// route registers a route with metrics and error mapping, after check,
// which refuses a request with a problem.
func (s *Server) route(pattern string, h handlerFunc, check func(*http.Request) *Problem) {
	s.mux.Handle(pattern, s.metrics.instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := check(r); p != nil {
			s.writeError(w, r, p)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})))
}

// bearer returns a SHA-256 of the request's bearer credential, so that it
// is compared in constant time whatever its length.
func bearer(r *http.Request) ([sha256.Size]byte, bool) {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256([]byte(strings.TrimSpace(cred))), true
}

func sameHash(a, b [sha256.Size]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// authorized compares the bearer key in constant time (hashing first, so
// neither the content nor the length of the key leaks through timing).
func (s *Server) authorized(r *http.Request) bool {
	got, ok := bearer(r)
	return ok && sameHash(got, s.keyHash)
}

// adminAuth admits the admin token (KARMAGATE_ADMIN_TOKEN), compared in
// constant time. The website's API key is refused with its own problem:
// whoever holds it must not add a Telegram account to the userbot pool.
func (s *Server) adminAuth(r *http.Request) *Problem {
	if !s.hasAdmin {
		return problem(http.StatusForbidden, "admin-token-unset", "the userbot pool's REST routes are off: KARMAGATE_ADMIN_TOKEN is not set. "+
			"Set it (openssl rand -hex 32; not the API key) and send Authorization: Bearer <KARMAGATE_ADMIN_TOKEN>, "+
			"or log accounts in on the dashboard's Userbots page or with karmagate userbot login")
	}
	got, ok := bearer(r)
	isAdmin, isKey := ok && sameHash(got, s.adminHash), ok && sameHash(got, s.keyHash)
	switch {
	case isAdmin:
		return nil
	case isKey:
		s.log.WarnContext(r.Context(), "api: the website's API key was refused on a userbot route", "method", r.Method, "path", r.URL.Path)
		return problem(http.StatusForbidden, "api-key-refused", "the website's API key may not administer the userbot pool: "+
			"send Authorization: Bearer <KARMAGATE_ADMIN_TOKEN>")
	}
	return problem(http.StatusUnauthorized, "unauthorized", "missing or wrong admin token: the userbot pool's routes take Authorization: Bearer <KARMAGATE_ADMIN_TOKEN>")
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// net/http's mux would take a path with . or .. segments (or an empty
	// one) for its clean form, redirecting with a 307 or answering for
	// another route (PUT /api/v1/members/.. is PUT /api/v1): such a path is
	// a mistake to report. (Escaped, %2E%2E is an id, refused as such.)
	if !cleanPath(r.URL.EscapedPath()) {
		s.writeError(w, r, problem(http.StatusBadRequest, "invalid-path", "the path has a . or .. segment or an empty one; send it in its clean form"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// cleanPath reports whether p has no . or .. segment and no empty one
// (but a trailing slash).
func cleanPath(p string) bool {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." || seg == "" && i != len(segs)-1 {
			return false
		}
	}
	return true
}

// healthz says whether the service can work: 200, or 503 naming the check
// that failed ("database unreachable", "schema behind: run karmagate
// migrate", …). It needs no key, so it shows no detail; the log has it.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	db := s.store.DB()
	out := map[string]any{"status": "ok", "database": string(db.Dialect()), "version": s.version}
	failed := func(what string, err error) error {
		s.log.WarnContext(ctx, "health: "+what, "err", err)
		out["status"], out["error"] = "unavailable", what
		writeJSON(w, http.StatusServiceUnavailable, out)
		return nil
	}
	if err := db.Ping(ctx); err != nil {
		return failed("database unreachable", err)
	}
	v, err := db.Version(ctx)
	switch want := db.SchemaVersion(); {
	case err != nil:
		return failed("schema version unreadable", err)
	case v < want:
		return failed("schema behind: run karmagate migrate", fmt.Errorf("schema at version %d, this build needs %d", v, want))
	case v > want:
		return failed("schema ahead: this karmagate is older than the database", fmt.Errorf("schema at version %d, this build knows %d", v, want))
	}
	if s.degraded != nil {
		// The REST API works; what does not is said, without detail.
		if why := s.degraded(); why != "" {
			out["status"], out["degraded"] = "degraded", why
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"_links": map[string]any{
			"self":       link("/api/v1"),
			"members":    link("/api/v1/members"),
			"member":     map[string]any{"href": "/api/v1/members/{id}", "templated": true},
			"export":     map[string]any{"href": "/api/v1/members/{id}/export", "templated": true},
			"bulk":       link("/api/v1/members/bulk"),
			"chats":      link("/api/v1/chats"),
			"chat":       map[string]any{"href": "/api/v1/chats/{key}", "templated": true},
			"events":     link("/api/v1/events"),
			"instances":  link("/api/v1/instances"),
			"pending":    map[string]any{"href": "/api/v1/chats/{key}/pending", "templated": true},
			"bind-codes": map[string]any{"href": "/api/v1/chats/{key}/bind-codes", "templated": true},
		},
	})
	return nil
}

func link(href string) map[string]string { return map[string]string{"href": href} }

// writeContext is the context a change of members runs in: the request's,
// so that a website that hangs up stops the wait, bounded by WriteWait, so
// that a change queued behind other writes (a bulk import holding SQLite's
// one writer, a locked member row) gives up with 503 and Retry-After rather
// than wait without end. A write that cannot start in time is
// models.ErrBusy. A bulk import gets perMember more for each member, so
// that the bound, should the store apply it to the whole transaction and
// not only to its start, never cuts short an import that is making
// progress (the store writes about 50 µs per member).
func (s *Server) writeContext(r *http.Request, members int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.writeWait+time.Duration(members-1)*perMember)
}

// perMember is what a bulk import's write may take per member on top of
// WriteWait.
const perMember = time.Millisecond
