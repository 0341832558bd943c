package mtproto

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gotd/log/logslog"
	"github.com/gotd/td/constant"
	"github.com/gotd/td/crypto"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgtest"
	"github.com/gotd/td/transport"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Default app credentials the sandbox accepts when Options leave them zero:
// gotd's (and Telegram Desktop's) public test credentials.
const (
	DefaultAppID   = constant.TestAppID
	DefaultAppHash = constant.TestAppHash
)

// DC is the one data center the sandbox serves.
const DC = 2

// Options configure a Server. The zero value works.
type Options struct {
	// Logger receives the server's logs and, at debug level, gotd's
	// protocol logs. Nil discards them.
	Logger *slog.Logger
	// AppID and AppHash are the only app credentials auth.sendCode accepts
	// (others get API_ID_INVALID). Zero means DefaultAppID / DefaultAppHash.
	AppID   int
	AppHash string
	// Key is the server's RSA key (2048 bits). Nil generates one.
	Key *rsa.PrivateKey
	// Random is the source of SRP salts and ephemeral secrets and of the
	// key exchange. Nil means crypto/rand.
	Random io.Reader
	// FloodWait, if not nil, replaces the world's Limits.FloodWait for this
	// server: the minimum interval between two calls of a method (e.g.
	// "contacts.resolvePhone") by one account, answered with FLOOD_WAIT_X.
	// An empty map turns flood waits off.
	FloodWait map[string]time.Duration
}

// Server is an MTProto server over gotd's tgtest that serves a world.World.
// Create it with New; serve it with Serve or Start.
type Server struct {
	w      *world.World
	log    *slog.Logger
	appID  int
	hash   string
	key    *rsa.PrivateKey
	random io.Reader
	srv    *tgtest.Server
	routes map[uint32]route

	mu        sync.Mutex
	addr      *net.TCPAddr
	accounts  map[[8]byte]*account        // auth key id → its authorization
	sessions  map[int64]map[int64]session // user id → session id → session
	verifiers map[int64]*cachedVerifier   // user id → SRP verifier of the password
	srpSeq    int64
	channels  map[int64]*channelBox // channel id → its message box
	// loginTokens are exported QR login tokens, by token.
	loginTokens map[string]*loginToken
	frozen      map[int64]bool           // frozen accounts
	floodWait   map[string]time.Duration // nil: the world's
	lastCall    map[string]time.Time     // method:account → last allowed call

	updates updateQueue

	startMu sync.Mutex
	cancel  context.CancelFunc
	done    chan error
}

// account is what the server knows about one auth key.
type account struct {
	userID     int64 // authorized user, 0 if none
	pending2FA int64 // user who passed the code but not yet the password
	srp        *srpSession
	apiID      int  // from initConnection
	revoked    bool // logged out by RevokeSessions, not logged in since
}

type session struct {
	tg   tgtest.Session
	auth [8]byte
}

type cachedVerifier struct {
	password string
	vr       *srpVerifier
}

// New creates a server for w. It does not listen yet: see Serve and Start.
func New(w *world.World, opts Options) (*Server, error) {
	if w == nil {
		return nil, errors.New("mtproto: nil world")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AppID == 0 {
		opts.AppID = DefaultAppID
	}
	if opts.AppHash == "" {
		opts.AppHash = DefaultAppHash
	}
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.Key == nil {
		k, err := rsa.GenerateKey(rand.Reader, crypto.RSAKeyBits)
		if err != nil {
			return nil, fmt.Errorf("mtproto: generate key: %w", err)
		}
		opts.Key = k
	}
	if opts.Key.N.BitLen() != crypto.RSAKeyBits {
		return nil, fmt.Errorf("mtproto: key has %d bits, want %d", opts.Key.N.BitLen(), crypto.RSAKeyBits)
	}
	s := &Server{
		w:         w,
		log:       opts.Logger,
		appID:     opts.AppID,
		hash:      opts.AppHash,
		key:       opts.Key,
		random:    opts.Random,
		accounts:  map[[8]byte]*account{},
		sessions:  map[int64]map[int64]session{},
		verifiers: map[int64]*cachedVerifier{},
		channels:  map[int64]*channelBox{},

		loginTokens: map[string]*loginToken{},
		frozen:      map[int64]bool{},
		floodWait:   opts.FloodWait,
		lastCall:    map[string]time.Time{},
	}
	s.updates.init()
	s.routes = s.buildRoutes()
	s.srv = tgtest.NewServer(tgtest.NewPrivateKey(opts.Key), tgtest.HandlerFunc(s.onMessage), tgtest.ServerOptions{
		DC:     DC,
		Random: opts.Random,
		Logger: logslog.New(opts.Logger.With("component", "tgtest")),
		// Clients ping about once a minute; tgtest's 30 s default read
		// timeout would drop idle connections between pings.
		ReadTimeout:  10 * time.Minute,
		WriteTimeout: 30 * time.Second,
	})
	return s, nil
}

// Serve serves MTProto on l until ctx is done or l fails. Addr reports l's
// address as soon as Serve is called.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.setAddr(l.Addr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	unsubscribe := s.w.Subscribe(s.onEvent)
	defer unsubscribe()
	go s.pushLoop(ctx)
	if err := s.srv.Serve(ctx, transport.ListenCodec(nil, l)); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("mtproto: serve: %w", err)
	}
	return nil
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background
// until Close. Addr is valid when Start returns.
func (s *Server) Start(addr string) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.cancel != nil {
		return errors.New("mtproto: already started")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mtproto: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan error, 1)
	s.setAddr(l.Addr())
	go func() { s.done <- s.Serve(ctx, l) }()
	return nil
}

// Close stops a server started with Start and waits for it to finish.
func (s *Server) Close() error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	err := <-s.done
	s.cancel = nil
	return err
}

func (s *Server) setAddr(a net.Addr) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		tcp, _ = net.ResolveTCPAddr("tcp", a.String())
	}
	s.mu.Lock()
	s.addr = tcp
	s.mu.Unlock()
}

// Addr is the host:port the server listens on, "" before Serve or Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == nil {
		return ""
	}
	return s.addr.String()
}

// AppID is the api_id clients must send.
func (s *Server) AppID() int { return s.appID }

// AppHash is the api_hash clients must send.
func (s *Server) AppHash() string { return s.hash }

// PublicKey is the server's RSA public key, for telegram.Options.PublicKeys.
func (s *Server) PublicKey() telegram.PublicKey {
	return telegram.PublicKey{RSA: &s.key.PublicKey}
}

// PublicKeyPEM is the server's public key as a PKCS#1 "RSA PUBLIC KEY" PEM
// block, the form Telegram publishes and crypto.ParseRSAPublicKeys reads.
func (s *Server) PublicKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{
		Type:  "RSA PUBLIC KEY",
		Bytes: x509.MarshalPKCS1PublicKey(&s.key.PublicKey),
	})
}

// World is the world the server serves.
func (s *Server) World() *world.World { return s.w }

// dcOptions lists the server's address as DC 2.
func (s *Server) dcOptions() []tg.DCOption {
	s.mu.Lock()
	a := s.addr
	s.mu.Unlock()
	if a == nil {
		return nil
	}
	return []tg.DCOption{{
		ID:        DC,
		IPAddress: a.IP.String(),
		Port:      a.Port,
		Ipv6:      a.IP.To4() == nil,
		Static:    true,
	}}
}

// ClientOptions are telegram.Options that point a gotd client at s: the DC
// list, the resolver and the public key. Add SessionStorage, UpdateHandler,
// Logger and the rest as usual. s must be serving already (Start returned,
// or Serve was called): without an address the client would fall back to
// Telegram's production DCs.
func ClientOptions(s *Server) telegram.Options {
	return telegram.Options{
		DC:         DC,
		DCList:     dcs.List{Options: s.dcOptions()},
		Resolver:   dcs.Plain(dcs.PlainOptions{}),
		PublicKeys: []telegram.PublicKey{s.PublicKey()},
	}
}

// ClientOptionsFor is ClientOptions for a server known only by address and
// PEM public key, as `karmagate sandbox` writes them (TELEGRAM_DC_ADDR,
// TELEGRAM_SERVER_KEY).
func ClientOptionsFor(addr string, keyPEM []byte) (telegram.Options, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return telegram.Options{}, fmt.Errorf("mtproto: dc address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return telegram.Options{}, fmt.Errorf("mtproto: dc address %q: bad port", addr)
	}
	keys, err := crypto.ParseRSAPublicKeys(keyPEM)
	if err != nil {
		return telegram.Options{}, fmt.Errorf("mtproto: server key: %w", err)
	}
	if len(keys) == 0 {
		return telegram.Options{}, errors.New("mtproto: server key: no PEM block")
	}
	pub := make([]telegram.PublicKey, len(keys))
	for i, k := range keys {
		pub[i] = telegram.PublicKey{RSA: k}
	}
	ip := net.ParseIP(host)
	return telegram.Options{
		DC: DC,
		DCList: dcs.List{Options: []tg.DCOption{{
			ID: DC, IPAddress: host, Port: port, Static: true,
			Ipv6: ip != nil && ip.To4() == nil,
		}}},
		Resolver:   dcs.Plain(dcs.PlainOptions{}),
		PublicKeys: pub,
	}, nil
}
