package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// Prefix is the path the dashboard is served under.
const Prefix = "/admin"

//go:embed templates static
var files embed.FS

// Store is what the dashboard reads and changes; *models.Store provides it.
type Store interface {
	Rules() *gate.Rules
	Overview(ctx context.Context) (models.Overview, error)
	SearchMembers(ctx context.Context, f models.MemberSearch) (models.MemberPage, error)
	FindMember(ctx context.Context, id string) (*models.MemberView, error)
	Overrides(ctx context.Context, id string) (map[string]gate.Override, error)
	SetOverride(ctx context.Context, id, chat string, mode gate.Override, actor string) (*models.MemberView, error)
	PlannedRemovals(ctx context.Context, chat string, limit int) ([]models.Action, int64, error)
	Events(ctx context.Context, f models.EventFilter) ([]models.Event, error)
	MembersOverTime(ctx context.Context, t models.Timeline) (map[string][]int64, error)
	ActionsOverTime(ctx context.Context, t models.Timeline) (map[string][]int64, error)
	OutboxOverTime(ctx context.Context, t models.Timeline) ([]int64, error)
}

// RemovalConfirmer releases the removals planned in a chat under dry run,
// returning how many it released. Without one the removals page lists what
// is queued and says there is nothing to confirm.
type RemovalConfirmer interface {
	ConfirmRemovals(ctx context.Context, chat, actor string) (int, error)
}

// BindCoder issues one-time bind codes: whoever holds one may bind a
// Telegram group to the chat with /bind KEY CODE (models.Store). Without
// one the overview has no "Bind code" buttons.
type BindCoder interface {
	IssueBindCode(ctx context.Context, key, actor string) (models.BindCode, error)
}

// Auditor lets an account of the userbot pool into a chat's group to list
// who is inside, as /audit on does (bot.Bot). Without one the overview
// has no "Audit" buttons.
type Auditor interface {
	StartAudit(ctx context.Context, key, actor string) error
}

// Userbots is the pool of userbot accounts as the dashboard shows it and
// logs accounts in. Without one the userbots page says there are none.
type Userbots interface {
	Accounts(ctx context.Context) ([]Account, error)
	// StartLogin asks Telegram to send a login code to phone (E.164).
	StartLogin(ctx context.Context, phone string) (LoginState, error)
	// SubmitCode answers the code; the state is then ready or
	// password_needed.
	SubmitCode(ctx context.Context, id, code string) (LoginState, error)
	// SubmitPassword answers the two-step verification password.
	SubmitPassword(ctx context.Context, id, password string) (LoginState, error)
}

// Login states of a userbot account.
const (
	LoginCodeSent       = "code_sent"
	LoginPasswordNeeded = "password_needed"
	LoginReady          = "ready"
)

// Account is one userbot account of the pool; it never carries a secret.
type Account struct {
	ID       string
	Phone    string // E.164; shown masked
	Username string
	// State is ready, code_sent, password_needed, flood_wait, error or
	// logged_out.
	State          string
	Channels       int       // channels and supergroups the account is in
	Cap            int       // how many it may be in (about 500)
	FloodWaitUntil time.Time // zero when not waiting
	LastError      string
	LastUsed       time.Time
}

// LoginState is where a userbot login stands.
type LoginState struct {
	ID    string
	State string // LoginCodeSent, LoginPasswordNeeded or LoginReady
}

// Options configures the dashboard. Store, Sessions, Secret and a way to
// sign in (Users, or APIKey with APIKeySignIn) are required.
type Options struct {
	Store Store
	// Sessions records who is signed in; *models.Store provides it.
	Sessions SessionStore
	APIKey   string // KARMAGATE_API_KEY
	// APIKeySignIn lets the API key sign in, as "api-key"
	// (KARMAGATE_DASHBOARD_API_KEY); off, the website's key opens nothing
	// here.
	APIKeySignIn bool
	// Users are per-admin credentials (KARMAGATE_ADMIN_USERS, see
	// ParseUsers).
	Users []User
	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// (KARMAGATE_TRUSTED_PROXIES, see ParseTrustedProxies); from any other
	// peer the header is ignored.
	TrustedProxies []netip.Prefix
	// Secret is KARMAGATE_SECRET; the session keys are derived from it.
	Secret   []byte
	Userbots Userbots         // nil: no userbot pool
	Removals RemovalConfirmer // nil: no dry run to confirm
	// BindCodes issues bind codes from the overview's chat rows; nil: no
	// button.
	BindCodes BindCoder
	// Audits starts audits of hand-made groups from the overview's chat
	// rows (/audit on); nil: no button.
	Audits Auditor
	// Telegram says whether the bot reached Telegram, for the overview's
	// first-run steps; nil: that step is never ticked.
	Telegram Telegram
	// SessionTTL is how long a sign-in lasts; 12 hours by default.
	SessionTTL time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
	Version    string
}

// Server is the dashboard's HTTP handler.
type Server struct {
	store    Store
	userbots Userbots
	removals RemovalConfirmer
	bindCode BindCoder
	audits   Auditor
	telegram Telegram
	creds    *credentials
	sessions SessionStore
	keys     sessionKeys
	failures *failures // failed sign-ins per name and address
	proxies  []netip.Prefix
	log      *slog.Logger
	now      func() time.Time
	version  string
	pages    map[string]*template.Template
	static   fs.FS
	mux      *http.ServeMux
}

// New builds the dashboard.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("dashboard: no store")
	}
	if len(opts.Secret) < 16 {
		return nil, errors.New("dashboard: the secret (KARMAGATE_SECRET) is missing or shorter than 16 bytes")
	}
	if opts.Sessions == nil {
		return nil, errors.New("dashboard: no session store")
	}
	if (opts.APIKey == "" || !opts.APIKeySignIn) && len(opts.Users) == 0 {
		return nil, errors.New("dashboard: no one can sign in: set KARMAGATE_ADMIN_USERS (htpasswd -nB NAME prints an entry), or KARMAGATE_DASHBOARD_API_KEY=true to sign in with the API key")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard: static files: %w", err)
	}
	creds, err := newCredentials(opts.APIKey, opts.APIKeySignIn, opts.Users)
	if err != nil {
		return nil, err
	}
	s := &Server{
		store:    opts.Store,
		userbots: opts.Userbots,
		removals: opts.Removals,
		bindCode: opts.BindCodes,
		audits:   opts.Audits,
		telegram: opts.Telegram,
		creds:    creds,
		sessions: opts.Sessions,
		keys:     newSessionKeys(opts.Secret, opts.SessionTTL),
		failures: newFailures(),
		proxies:  opts.TrustedProxies,
		log:      opts.Logger,
		now:      opts.Now,
		version:  opts.Version,
		pages:    pages,
		static:   static,
		mux:      http.NewServeMux(),
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", s.staticHandler()))
	s.mux.HandleFunc("GET "+Prefix+"/login", s.handle(s.loginPage, false))
	s.mux.HandleFunc("POST "+Prefix+"/login", s.handle(s.login, false))
	s.mux.HandleFunc("POST "+Prefix+"/logout", s.handle(s.logout, true))
	s.mux.HandleFunc("POST "+Prefix+"/logout-everywhere", s.handle(s.logoutEverywhere, true))
	s.mux.HandleFunc("GET "+Prefix+"/{$}", s.handle(s.overviewPage, true))
	s.mux.HandleFunc("GET "+Prefix+"/members", s.handle(s.membersPage, true))
	s.mux.HandleFunc("GET "+Prefix+"/members/{id}", s.handle(s.memberPage, true))
	s.mux.HandleFunc("POST "+Prefix+"/members/{id}/override", s.handle(s.setOverride, true))
	s.mux.HandleFunc("GET "+Prefix+"/removals", s.handle(s.removalsPage, true))
	s.mux.HandleFunc("POST "+Prefix+"/removals/confirm", s.handle(s.confirmRemovals, true))
	s.mux.HandleFunc("POST "+Prefix+"/chats/{key}/bind-code", s.handle(s.issueBindCode, true))
	s.mux.HandleFunc("POST "+Prefix+"/chats/{key}/audit", s.handle(s.startAudit, true))
	s.mux.HandleFunc("GET "+Prefix+"/userbots", s.handle(s.userbotsPage, true))
	s.mux.HandleFunc("POST "+Prefix+"/userbots/login", s.handle(s.userbotLogin, true))
	s.mux.HandleFunc("POST "+Prefix+"/userbots/{id}/code", s.handle(s.userbotCode, true))
	s.mux.HandleFunc("POST "+Prefix+"/userbots/{id}/password", s.handle(s.userbotPassword, true))
	s.mux.HandleFunc("GET "+Prefix+"/audit", s.handle(s.auditPage, true))
	s.mux.HandleFunc("GET "+Prefix+"/charts", s.handle(s.chartsPage, true))
	s.mux.HandleFunc(Prefix+"/", s.handle(func(w http.ResponseWriter, r *http.Request, _ *session) error {
		return errNotFound
	}, true))
}

// ServeHTTP serves the dashboard under Prefix; Prefix itself redirects to
// Prefix + "/".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if r.URL.Path == Prefix {
		http.Redirect(w, r, Prefix+"/", http.StatusFound)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// pageHandler serves one page or action; sess is nil on pages that need no
// sign-in.
type pageHandler func(w http.ResponseWriter, r *http.Request, sess *session) error

// handle wraps a handler with the session check (auth), the CSRF check on
// POST, and error pages.
func (s *Server) handle(h pageHandler, auth bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var sess *session
		if r.Method == http.MethodPost {
			// A browser says where a request comes from; another site's
			// form is refused before anything else.
			if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
				s.renderError(w, r, nil, &pageError{status: http.StatusForbidden, title: "Refused",
					detail: "This form was sent from another site."})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		}
		if auth {
			var err error
			if sess, err = s.sessionFrom(r); err != nil {
				s.renderError(w, r, nil, err)
				return
			}
			if sess == nil {
				if r.Method == http.MethodGet {
					next := r.URL.Path
					if r.URL.RawQuery != "" {
						next += "?" + r.URL.RawQuery
					}
					http.Redirect(w, r, Prefix+"/login?next="+urlQueryEscape(next), http.StatusSeeOther)
					return
				}
				s.renderError(w, r, nil, &pageError{status: http.StatusUnauthorized, title: "Signed out",
					detail: "Your session has ended. Sign in again, then repeat what you did."})
				return
			}
			if r.Method == http.MethodPost && !sess.checkCSRF(r.PostFormValue("csrf")) {
				s.log.WarnContext(r.Context(), "dashboard: form without a valid CSRF token", "path", r.URL.Path, "user", sess.User)
				s.renderError(w, r, sess, &pageError{status: http.StatusForbidden, title: "Form expired",
					detail: "This form does not belong to your current session. Reload the page and try again."})
				return
			}
		}
		if err := h(w, r, sess); err != nil {
			s.renderError(w, r, sess, err)
		}
	}
}

// pageError is an error shown to the admin as it is.
type pageError struct {
	status int
	title  string
	detail string
}

func (e *pageError) Error() string { return e.title + ": " + e.detail }

var errNotFound = &pageError{status: http.StatusNotFound, title: "Not found", detail: "There is no such page in the dashboard."}

// renderError shows err as a page: a pageError as it says, a missing record
// as 404, an invalid input as 400, anything else as 500 with the details
// only in the log.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	var pe *pageError
	var in *models.InputError
	switch {
	case errors.As(err, &pe):
	case errors.Is(err, models.ErrNotFound):
		pe = &pageError{status: http.StatusNotFound, title: "Not found", detail: "Nothing here: " + err.Error() + "."}
	case errors.As(err, &in):
		pe = &pageError{status: http.StatusBadRequest, title: "Check the form", detail: in.Detail}
	case errors.Is(err, models.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		pe = &pageError{status: http.StatusServiceUnavailable, title: "Busy", detail: "The database is busy. Try again in a moment."}
	default:
		s.log.ErrorContext(r.Context(), "dashboard: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		pe = &pageError{status: http.StatusInternalServerError, title: "Something went wrong",
			detail: "The request failed; the details are in karmagate's log."}
	}
	s.render(w, r, sess, pe.status, "error", pe.title, map[string]any{"Title": pe.title, "Detail": pe.detail})
}

// view is what every page template gets.
type view struct {
	Page    string // the template's name, also the active navigation item
	Title   string
	User    string
	CSRF    string
	Version string
	Now     time.Time
	Notice  string // a confirmation shown at the top
	Data    any
}

// render executes a page into a buffer first, so that a template error
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, status int, page, title string, data any) {
	v := view{Page: page, Title: title, Version: s.version, Now: s.now().UTC(), Data: data, Notice: notices[r.URL.Query().Get("done")]}
	if sess != nil {
		v.User, v.CSRF = sess.User, sess.CSRF
	}
	t := s.pages[page]
	var buf bytes.Buffer
	if t == nil {
		s.log.ErrorContext(r.Context(), "dashboard: no such template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "dashboard: render failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// notices are the confirmations a redirect after a change asks for with
// ?done=; only these fixed texts can be shown.
var notices = map[string]string{
	"exempt":    "Exemption saved: the member stays in that chat whatever the rules say.",
	"lifted":    "Exemption lifted: the rules decide again.",
	"confirmed": "Removals confirmed: the workers carry them out now.",
	"code":      "Telegram sent a login code to that phone: enter it below.",
	"password":  "This account has two-step verification: enter its password below.",
	"ready":     "The account is logged in and ready.",
	"audit":     "Audit asked for: an account of the userbot pool joins the group with a one-use link, the bot makes it an admin that only sees the members, and the counts follow.",
}

func (s *Server) staticHandler() http.Handler {
	files := http.FileServerFS(s.static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse layout: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: list templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}
