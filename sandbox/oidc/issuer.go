package oidc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Lifetimes of what the issuer hands out.
const (
	CodeTTL    = time.Minute      // an authorization code
	IDTokenTTL = 10 * time.Minute // an ID token's exp after its iat
)

// People is the part of the world the issuer reads: who a person is, and
// the time.
type People interface {
	User(id int64) (world.User, bool)
	Now() time.Time
}

// Options configures an Issuer. Issuer, People and Client are required.
type Options struct {
	// Issuer is the issuer URL: the iss claim and the base of every
	// endpoint (the sandbox's Bot API address).
	Issuer string
	People People
	// Client is the bot whose id is the client id.
	Client world.User
	// Key signs ID tokens (RS256); nil generates a 2048-bit key.
	Key *rsa.PrivateKey
	// Secret is the client secret; empty generates one.
	Secret string
	Logger *slog.Logger
}

// Issuer is the sandbox's OpenID Connect provider: discovery, JWKS,
// authorize (with a consent page) and token, for one client, the bot.
type Issuer struct {
	issuer   string
	people   People
	client   world.User
	clientID string
	secret   string
	mac      []byte // signs the consent form's hidden field
	log      *slog.Logger

	// The signing key is made when first needed (an RSA key takes tens
	// of milliseconds, and most sandboxes never serve a login).
	keyOnce sync.Once
	key     *rsa.PrivateKey
	kid     string
	signer  jose.Signer
	keyErr  error

	mu        sync.Mutex
	redirects map[string]bool   // allowed redirect URLs (BotFather's Web Login setting)
	consents  map[int64]consent // by person: what they agreed to give the client
	codes     map[string]*grant // by code: unused authorization codes
	forge     []string          // faults for the next ID tokens, in order
}

// consent is what a person agreed to give the client.
type consent struct {
	scopes map[string]bool
	at     time.Time
}

// grant is an authorization code's promise: who, for what, bound to which
// redirect URL and PKCE challenge.
type grant struct {
	user      int64
	scope     []string
	redirect  string
	nonce     string
	challenge string
	expires   time.Time
}

// New makes an issuer.
func New(opts Options) (*Issuer, error) {
	if opts.Issuer == "" || opts.People == nil || opts.Client.ID == 0 {
		return nil, errors.New("sandbox oidc: Issuer, People and Client are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	secret := opts.Secret
	if secret == "" {
		secret = randomToken(24)
	}
	return &Issuer{
		issuer: opts.Issuer, people: opts.People, client: opts.Client, clientID: strconv.FormatInt(opts.Client.ID, 10),
		secret: secret, key: opts.Key, mac: []byte(randomToken(32)), log: opts.Logger,
		redirects: map[string]bool{}, consents: map[int64]consent{}, codes: map[string]*grant{},
	}, nil
}

// keys makes the signing key (Options.Key, or a new 2048-bit one) and its
// signer, once.
func (s *Issuer) keys() error {
	s.keyOnce.Do(func() {
		if s.key == nil {
			if s.key, s.keyErr = rsa.GenerateKey(rand.Reader, 2048); s.keyErr != nil {
				s.keyErr = fmt.Errorf("sandbox oidc: generate key: %w", s.keyErr)
				return
			}
		}
		sum := sha256.Sum256(s.key.PublicKey.N.Bytes())
		s.kid = hex.EncodeToString(sum[:8])
		s.signer, s.keyErr = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: s.key, KeyID: s.kid}},
			(&jose.SignerOptions{}).WithType("JWT"))
	})
	return s.keyErr
}

// URL is the issuer URL.
func (s *Issuer) URL() string { return s.issuer }

// ClientID is the client id: the bot's id.
func (s *Issuer) ClientID() string { return s.clientID }

// ClientSecret is the client secret (BotFather's Web Login setting).
func (s *Issuer) ClientSecret() string { return s.secret }

// AllowRedirect adds an allowed redirect URL: an absolute http(s) URL
// without a fragment, matched exactly.
func (s *Issuer) AllowRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("redirect URL %q: want an absolute http(s) URL without a #fragment", raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirects[raw] = true
	return nil
}

// Redirects lists the allowed redirect URLs.
func (s *Issuer) Redirects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.redirects))
	for r := range s.redirects {
		out = append(out, r)
	}
	return out
}

// Authorize records that person userID agrees to give client clientID the
// scopes in scope (space-separated, openid among them): their next
// authorize request for no more than that is answered with a code at once.
func (s *Issuer) Authorize(userID int64, clientID, scope string) error {
	if clientID != s.clientID {
		return fmt.Errorf("client_id %q: no such client (the sandbox's is the bot's id, %s)", clientID, s.clientID)
	}
	u, ok := s.people.User(userID)
	if !ok || u.IsBot {
		return fmt.Errorf("no person %d", userID)
	}
	scopes, err := parseScope(scope)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consents[userID] = consent{scopes: scopes, at: s.people.Now()}
	return nil
}

// Forge makes the next ID token faulty, for tests of the relying party:
// "audience" (another client's), "expired", "signature" (signed by another
// key under this key's id), "nonce" (another nonce), "issuer" (another
// issuer). Each call queues one.
func (s *Issuer) Forge(kind string) error {
	switch kind {
	case "audience", "expired", "signature", "nonce", "issuer":
	default:
		return fmt.Errorf("forge %q: want audience, expired, signature, nonce or issuer", kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forge = append(s.forge, kind)
	return nil
}

// Reset forgets consents, codes and queued forgeries (the redirect URLs
// and keys stay, as BotFather's settings do).
func (s *Issuer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consents, s.codes, s.forge = map[int64]consent{}, map[string]*grant{}, nil
}

// Register serves the issuer's endpoints on mux, at the issuer URL's path.
func (s *Issuer) Register(mux *http.ServeMux) {
	base := s.basePath()
	mux.HandleFunc("GET "+base+"/.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET "+base+"/.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET "+base+"/auth", s.authorize)
	mux.HandleFunc("POST "+base+"/auth", s.consentForm)
	mux.HandleFunc("POST "+base+"/token", s.token)
}

func (s *Issuer) basePath() string {
	u, _ := url.Parse(s.issuer)
	p := u.Path
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

func (s *Issuer) endpoint(name string) string {
	base := s.issuer
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + name
}

// discovery is /.well-known/openid-configuration.
func (s *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer,
		"authorization_endpoint":                s.endpoint("/auth"),
		"token_endpoint":                        s.endpoint("/token"),
		"jwks_uri":                              s.endpoint("/.well-known/jwks.json"),
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "phone", "telegram:bot_access"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"iss", "aud", "sub", "exp", "iat", "nonce", "id", "name", "preferred_username", "picture", "phone_number"},
	})
}

// jwks is /.well-known/jwks.json: the public key.
func (s *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	if err := s.keys(); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, set)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign is a MAC under the issuer's own key, hex.
func (s *Issuer) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.mac)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// mustJSON encodes claims (maps of strings and numbers cannot fail).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
