package login

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
)

// Paths served.
const (
	StartPath    = "/auth/telegram"
	CallbackPath = "/auth/telegram/callback"
	DonePath     = "/auth/telegram/done"
)

// DefaultIssuer is Telegram's OpenID Connect issuer.
const DefaultIssuer = "https://oauth.telegram.org"

// Scopes asked for: the account (openid profile), its phone number, and
// leave for the bot to message the person (telegram:bot_access: the
// invitations go out by DM even to someone who never started the bot);
// the person may decline the last two.
var Scopes = []string{oidc.ScopeOpenID, "profile", "phone", "telegram:bot_access"}

// Store is what the login keeps in the database.
type Store interface {
	StartOIDCLogin(ctx context.Context, stateHash []byte, memberID string, ttl time.Duration) (time.Time, error)
	TakeOIDCLogin(ctx context.Context, stateHash []byte) (string, error)
	SetVerifiedPhone(ctx context.Context, memberID string, tgUserID int64, phone, via string) error
}

// Linker links a member to the account a checked ID token names (the
// bot: the deep link's rules); pending is the request the account linked
// now was asked to confirm, when the member is linked to another one.
type Linker interface {
	LinkOIDC(ctx context.Context, memberID string, u linking.OIDCUser) (v *models.MemberView, pending *models.Relink, err error)
}

// Options configures the login. Every field but Issuer, ProfileURL,
// LoginTTL, LinkTTL, HTTPClient, Now and Logger is required.
type Options struct {
	Store  Store
	Linker Linker
	// ClientID and ClientSecret are the bot's Web Login credentials
	// (TELEGRAM_OIDC_CLIENT_ID, TELEGRAM_OIDC_CLIENT_SECRET).
	ClientID, ClientSecret string
	// Issuer is the issuer URL, its endpoints read from its discovery
	// document (TELEGRAM_OIDC_ISSUER; DefaultIssuer when empty).
	Issuer string
	// PublicURL is where browsers reach karmagate (KARMAGATE_PUBLIC_URL):
	// the redirect URL is PublicURL + CallbackPath.
	PublicURL string
	// ProfileURL is where the person is sent back with the outcome
	// (KARMAGATE_PROFILE_URL); empty: karmagate's own page at DonePath.
	ProfileURL string
	// LinkSecret signs the website's links (KARMAGATE_LINK_SECRET).
	LinkSecret []byte
	// Secret is the master secret (KARMAGATE_SECRET): the PKCE verifier
	// and the nonce of a login are derived from its state under a key
	// from it.
	Secret []byte
	// LinkTTL is how far ahead a link's exp may be, and the lifetime of
	// the links LoginURL makes (KARMAGATE_LINK_TTL; 15 minutes).
	LinkTTL time.Duration
	// LoginTTL is how long a person has at Telegram (10 minutes).
	LoginTTL   time.Duration
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
	// Registerer, when set, receives karmagate_telegram_logins_total
	// {outcome, reason}.
	Registerer prometheus.Registerer
}

// Server serves Log in with Telegram: the website's link, the return from
// Telegram, and the outcome page.
type Server struct {
	opts     Options
	key      []byte // derives verifiers and nonces
	redirect string
	secure   bool // PublicURL is https: the cookie is Secure
	log      *slog.Logger
	mux      *http.ServeMux

	outcomes *prometheus.CounterVec // nil without a Registerer

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// New checks opts and builds the server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Linker == nil {
		return nil, errors.New("login: Store and Linker are required")
	}
	if opts.ClientID == "" || opts.ClientSecret == "" || len(opts.LinkSecret) == 0 || len(opts.Secret) == 0 {
		return nil, errors.New("login: ClientID, ClientSecret, LinkSecret and Secret are required")
	}
	pub, err := url.Parse(opts.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("login: PublicURL %q is not an http(s) URL", opts.PublicURL)
	}
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	if opts.LinkTTL <= 0 {
		opts.LinkTTL = 15 * time.Minute
	}
	if opts.LoginTTL <= 0 {
		opts.LoginTTL = 10 * time.Minute
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	k := hmac.New(sha256.New, opts.Secret)
	k.Write([]byte("karmagate oidc login"))
	s := &Server{opts: opts, key: k.Sum(nil), redirect: strings.TrimSuffix(opts.PublicURL, "/") + CallbackPath,
		secure: pub.Scheme == "https", log: opts.Logger.With("component", "login"), mux: http.NewServeMux()}
	if opts.Registerer != nil {
		s.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_telegram_logins_total",
			Help: "Logins with Telegram (OpenID Connect) ended, by outcome (linked, pending, error) and reason.",
		}, []string{"outcome", "reason"})
		if err := opts.Registerer.Register(s.outcomes); err != nil {
			return nil, fmt.Errorf("login: register metrics: %w", err)
		}
	}
	s.mux.HandleFunc("GET "+StartPath, s.start)
	s.mux.HandleFunc("GET "+CallbackPath, s.callback)
	s.mux.HandleFunc("GET "+DonePath, s.done)
	return s, nil
}

// ServeHTTP serves StartPath, CallbackPath and DonePath.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The return carries a code, the outcome page a member: neither goes
	// on to another site in a Referer, nor is kept by a cache.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// RedirectURL is the URL to allow in BotFather (Bot Settings → Web
// Login): PublicURL + CallbackPath.
func (s *Server) RedirectURL() string { return s.redirect }

// LoginURL is a signed link to StartPath for the member, valid for
// LinkTTL: what POST /api/v1/members/{id}/login-url answers.
func (s *Server) LoginURL(memberID string) (string, time.Time) {
	exp := s.opts.Now().Add(s.opts.LinkTTL).Truncate(time.Second)
	q := url.Values{"member": {memberID}, "exp": {strconv.FormatInt(exp.Unix(), 10)},
		"sig": {Sign(s.opts.LinkSecret, memberID, exp.Unix())}}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + StartPath + "?" + q.Encode(), exp
}

// client is the issuer's discovery, read once it is first needed (a
// Telegram that cannot be reached at start stops nothing else), and the
// ID token verifier over its JWKS (keys cached, fetched again for an
// unknown key id).
func (s *Server) client(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, s.verifier, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.opts.HTTPClient), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, s.opts.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover the issuer %s: %w", s.opts.Issuer, err)
	}
	s.provider = p
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.opts.ClientID, Now: s.opts.Now, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}})
	return s.provider, s.verifier, nil
}

// oauth2Config is the authorization code flow against p.
func (s *Server) oauth2Config(p *oidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	return &oauth2.Config{ClientID: s.opts.ClientID, ClientSecret: s.opts.ClientSecret, Endpoint: ep, RedirectURL: s.redirect, Scopes: Scopes}
}

// Issuer is the issuer URL.
func (s *Server) Issuer() string { return s.opts.Issuer }
