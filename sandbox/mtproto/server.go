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
	"github.com/gotd/td/bin"
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

// DC is the data center clients start on (TELEGRAM_DC_ADDR, Addr): DC 2,
// as gotd's and Telegram's own apps. The server serves every data center
// from 1 to world.MaxDC, each on its own address; an account lives on one
// (world.User.DC), and a login begun elsewhere is sent there.
const DC = world.DefaultDC

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
	dcs    map[int]*tgtest.Server // data center id → its server
	routes map[uint32]route

	mu        sync.Mutex
	addrs     map[int]*net.TCPAddr        // data center id → its address
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
	keyUse      map[[8]byte]keyUse       // auth key → the sessions that used it last
	sendCode    map[int64]SendCodeAnswer // user id → what auth.sendCode answers

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
	// duplicated: used from two places at once; the authorization is
	// over and the key answers AUTH_KEY_DUPLICATED.
	duplicated bool
}

type session struct {
	tg   tgtest.Session
	auth [8]byte
	dc   int
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
		dcs:         map[int]*tgtest.Server{},
		addrs:       map[int]*net.TCPAddr{},
		keyUse:      map[[8]byte]keyUse{},
		sendCode:    map[int64]SendCodeAnswer{},
	}
	s.updates.init()
	s.routes = s.buildRoutes()
	for dc := 1; dc <= world.MaxDC; dc++ {
		s.dcs[dc] = tgtest.NewServer(tgtest.NewPrivateKey(opts.Key), tgtest.HandlerFunc(func(srv *tgtest.Server, req *tgtest.Request) error {
			return s.onMessage(dc, srv, req)
		}), tgtest.ServerOptions{
			DC:     dc,
			Random: opts.Random,
			Logger: logslog.New(opts.Logger.With("component", "tgtest", "dc", dc)),
			// Clients ping about once a minute; tgtest's 30 s default read
			// timeout would drop idle connections between pings.
			ReadTimeout:  10 * time.Minute,
			WriteTimeout: 30 * time.Second,
		})
	}
	return s, nil
}

// Serve serves MTProto until ctx is done or a listener fails: DC 2 (the
// one clients start on) on l, the other data centers on ports of their
// own on l's host. Addr and DCAddr report the addresses as soon as Serve
// is called.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	ls, err := s.listenOthers(l)
	if err != nil {
		return err
	}
	return s.serveAll(ctx, ls)
}

// listenOthers opens a listener for every data center but DC 2 (l) on l's
// host, and records the addresses.
func (s *Server) listenOthers(l net.Listener) (map[int]net.Listener, error) {
	ls := map[int]net.Listener{DC: l}
	host, _, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("mtproto: listener address: %w", err)
	}
	for dc := range s.dcs {
		if dc == DC {
			continue
		}
		other, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			for _, o := range ls {
				if o != l {
					o.Close()
				}
			}
			return nil, fmt.Errorf("mtproto: listen for dc %d: %w", dc, err)
		}
		ls[dc] = other
	}
	for dc, dl := range ls {
		s.setAddr(dc, dl.Addr())
	}
	return ls, nil
}

// serveAll serves every data center on its listener until ctx is done or
// one fails.
func (s *Server) serveAll(ctx context.Context, ls map[int]net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	unsubscribe := s.w.Subscribe(s.onEvent)
	defer unsubscribe()
	go s.pushLoop(ctx)
	errs := make(chan error, len(ls))
	for dc, dl := range ls {
		go func() {
			err := s.dcs[dc].Serve(ctx, transport.ListenCodec(nil, dl))
			if err != nil && !errors.Is(err, context.Canceled) {
				err = fmt.Errorf("mtproto: serve dc %d: %w", dc, err)
			} else {
				err = nil
			}
			cancel()
			errs <- err
		}()
	}
	var first error
	for range ls {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
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
	ls, err := s.listenOthers(l)
	if err != nil {
		l.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- s.serveAll(ctx, ls) }()
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

func (s *Server) setAddr(dc int, a net.Addr) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		tcp, _ = net.ResolveTCPAddr("tcp", a.String())
	}
	s.mu.Lock()
	s.addrs[dc] = tcp
	s.mu.Unlock()
}

// Addr is the host:port of DC 2, where clients start; "" before Serve or
// Start.
func (s *Server) Addr() string { return s.DCAddr(DC) }

// DCAddr is the host:port of a data center (1 to world.MaxDC); "" before
// Serve or Start. Clients learn them from help.getConfig.
func (s *Server) DCAddr(dc int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.addrs[dc]; a != nil {
		return a.String()
	}
	return ""
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

// dcOptions lists the data centers' addresses, DC 2 first.
func (s *Server) dcOptions() []tg.DCOption {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tg.DCOption
	add := func(dc int) {
		if a := s.addrs[dc]; a != nil {
			out = append(out, tg.DCOption{ID: dc, IPAddress: a.IP.String(), Port: a.Port, Ipv6: a.IP.To4() == nil, Static: true})
		}
	}
	add(DC)
	for dc := 1; dc <= world.MaxDC; dc++ {
		if dc != DC {
			add(dc)
		}
	}
	return out
}

// send pushes an update to a session on the data center it is connected
// to.
func (s *Server) send(ctx context.Context, dc int, ses tgtest.Session, msg bin.Encoder) error {
	srv, ok := s.dcs[dc]
	if !ok {
		return fmt.Errorf("mtproto: no dc %d", dc)
	}
	return srv.Send(ctx, ses, tgtest.MessageFromServer, msg)
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
