package door

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"time"
)

//go:embed assets
var assets embed.FS

var (
	pageTmpl  = template.Must(template.ParseFS(assets, "assets/page.html"))
	visitTmpl = template.Must(template.ParseFS(assets, "assets/visit.html"))
)

// Prefix is where the Mini App is served.
const Prefix = "/app/join"

// maxBody bounds a session request: initData and a chat key.
const maxBody = 8 << 10

// Options configures the Mini App's handler. BotToken and Doors are
// required.
type Options struct {
	BotToken string
	Doors    Doors
	// ProfileURL is the website's profile page (KARMAGATE_PROFILE_URL),
	// where a member links their Telegram account and earns karma; the page
	// shows no link to it when empty.
	ProfileURL string
	// MaxAge is how old an initData may be; DefaultMaxAge when zero.
	MaxAge time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler serves GET /app/join, GET /app/join/app.js and
// POST /app/join/session.
type Handler struct {
	opts Options
	v    *Validator
	mux  *http.ServeMux
}

// New checks the options and builds the handler.
func New(opts Options) (*Handler, error) {
	if opts.Doors == nil {
		return nil, errors.New("door: no Doors")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := NewValidator(opts.BotToken, opts.MaxAge, opts.Now)
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: opts, v: v, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+Prefix, h.page)
	h.mux.HandleFunc("GET "+Prefix+"/app.js", h.script)
	h.mux.HandleFunc("POST "+Prefix+"/session", h.session)
	return h, nil
}

// ServeHTTP answers the Mini App's routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' https://telegram.org; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("chat")
	if !keyPattern.MatchString(key) {
		http.Error(w, "chat: a chat key is required", http.StatusBadRequest)
		return
	}
	h.render(w, http.StatusOK, pageTmpl, "page.html", struct{ ChatKey string }{key})
}

func (h *Handler) script(w http.ResponseWriter, _ *http.Request) {
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(js)
}

// problem is an error shown in place of the standing.
type problem struct {
	Code    string
	Message string
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		h.problem(w, http.StatusBadRequest, "malformed", "The request could not be read.")
		return
	}
	key := r.PostForm.Get("chat")
	if !keyPattern.MatchString(key) {
		h.problem(w, http.StatusBadRequest, "malformed", "No chat named: open this page from your join request.")
		return
	}
	in, err := h.v.Validate(r.PostForm.Get("init_data"))
	switch {
	case errors.Is(err, ErrForged):
		h.opts.Logger.WarnContext(r.Context(), "mini app: forged initData refused", "chat", key, "remote", r.RemoteAddr)
		h.problem(w, http.StatusForbidden, "forged", "Telegram's signature does not match: open this page from your join request in Telegram.")
		return
	case errors.Is(err, ErrStale):
		h.problem(w, http.StatusForbidden, "stale", "This screen is too old: open it again from your join request.")
		return
	case err != nil:
		h.problem(w, http.StatusBadRequest, "malformed", "Open this page from your join request in Telegram.")
		return
	}
	v, err := h.opts.Doors.Visit(r.Context(), Visitor{User: in.User, ChatKey: key, AuthDate: in.AuthDate})
	switch {
	case errors.Is(err, ErrUnknownChat):
		h.problem(w, http.StatusNotFound, "unknown_chat", "This chat is not gated here.")
		return
	case errors.Is(err, ErrBeforeRequest):
		h.problem(w, http.StatusForbidden, "replayed", ErrBeforeRequest.Error())
		return
	case err != nil:
		h.opts.Logger.ErrorContext(r.Context(), "mini app: visit", "chat", key, "user", in.User.ID, "err", err)
		h.problem(w, http.StatusInternalServerError, "internal", "Something went wrong on our side; try again in a moment.")
		return
	}
	h.render(w, http.StatusOK, visitTmpl, "visit", h.visitData(&v, in.User))
}

// visitData is what the visit template shows.
type visitData struct {
	Visit    *Visit
	Name     string
	Profile  string
	Percent  int64
	DecideAt string
}

func (h *Handler) visitData(v *Visit, u User) visitData {
	d := visitData{Visit: v, Name: u.FirstName, Profile: h.opts.ProfileURL, Percent: 100}
	if u.Username != "" {
		d.Name += " (@" + u.Username + ")"
	}
	if v.Bar > 0 && v.Karma < v.Bar {
		d.Percent = max(0, v.Karma*100/v.Bar)
	}
	if !v.DecideAt.IsZero() {
		d.DecideAt = v.DecideAt.UTC().Format("15:04 UTC")
	}
	return d
}

func (h *Handler) problem(w http.ResponseWriter, status int, code, msg string) {
	h.render(w, status, visitTmpl, "problem", problem{Code: code, Message: msg})
}

// render executes the template into a buffer first, so that a failure is
// a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, t *template.Template, name string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		h.opts.Logger.Error("mini app: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
