package userbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/gotd/log/logslog"
	"github.com/gotd/td/crypto"
	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"
)

// sessionStore keeps a ready account's sealed session (dbSession).
type sessionStore interface {
	SaveSession(ctx context.Context, id int64, session []byte) error
}

// clientOptions are the gotd options that reach Telegram, or the MTProto
// server DCAddr names with the public key ServerKey.
func (t Telegram) clientOptions() (telegram.Options, error) {
	if t.DCAddr == "" {
		return telegram.Options{}, nil
	}
	host, portStr, err := net.SplitHostPort(t.DCAddr)
	if err != nil {
		return telegram.Options{}, fmt.Errorf("TELEGRAM_DC_ADDR %q: %w", t.DCAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return telegram.Options{}, fmt.Errorf("TELEGRAM_DC_ADDR %q: bad port", t.DCAddr)
	}
	keys, err := crypto.ParseRSAPublicKeys(t.ServerKey)
	if err != nil || len(keys) == 0 {
		return telegram.Options{}, fmt.Errorf("TELEGRAM_SERVER_KEY: not an RSA public key in PEM (%v)", err)
	}
	pub := make([]telegram.PublicKey, len(keys))
	for i, k := range keys {
		pub[i] = telegram.PublicKey{RSA: k}
	}
	ip := net.ParseIP(host)
	return telegram.Options{
		DC: 2,
		DCList: dcs.List{Options: []tg.DCOption{{
			ID: 2, IPAddress: host, Port: port, Static: true, Ipv6: ip != nil && ip.To4() == nil,
		}}},
		Resolver:   dcs.Plain(dcs.PlainOptions{}),
		PublicKeys: pub,
	}, nil
}

// withStoredDCs adds to o the data centers a stored session learned from
// its server (help.getConfig), when o names a server other than
// Telegram's: gotd reads the address of a session's DC from the options
// alone, and an account moved to another DC at login (PHONE_MIGRATE_X,
// loginTokenMigrateTo) lives on one that TELEGRAM_DC_ADDR does not name.
// Telegram's own DCs are all in gotd's defaults.
func withStoredDCs(o telegram.Options, storage telegram.SessionStorage) telegram.Options {
	if len(o.DCList.Options) == 0 || storage == nil {
		return o
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, err := (&session.Loader{Storage: storage}).Load(ctx)
	if err != nil {
		return o
	}
	known := map[int]bool{}
	for _, dc := range o.DCList.Options {
		known[dc.ID] = true
	}
	opts := append([]tg.DCOption(nil), o.DCList.Options...)
	for _, dc := range data.Config.DCOptions {
		if !known[dc.ID] {
			opts = append(opts, dc)
		}
	}
	o.DCList.Options = opts
	return o
}

// newClient builds a gotd client on storage with the given middlewares;
// connLost, when set, is called as soon as the connection dies.
func (p *Pool) newClient(storage telegram.SessionStorage, connLost func(), mws ...telegram.Middleware) *telegram.Client {
	o, _ := p.opts.Telegram.clientOptions() // checked by New
	o = withStoredDCs(o, storage)
	o.SessionStorage = storage
	if connLost != nil {
		o.OnDead = func(error) { connLost() }
		o.OnConnectionState = func(s telegram.ConnectionState) {
			if s == telegram.ConnectionStateDisconnected {
				connLost()
			}
		}
	}
	o.NoUpdates = true
	o.MigrationTimeout = migrationTimeout
	o.Middlewares = mws
	o.Device = telegram.DeviceConfig{DeviceModel: "karmagate", SystemVersion: runtime.GOOS, AppVersion: "karmagate"}
	if p.opts.Debug {
		o.Logger = logslog.New(p.log.With("component", "gotd"))
	} else {
		o.Logger = logslog.New(slog.New(slog.DiscardHandler))
	}
	return telegram.NewClient(p.opts.Telegram.AppID, p.opts.Telegram.AppHash, o)
}

// sessionAD and loginAD bind sealed values to their account.
func sessionAD(id int64) string { return "userbot/" + strconv.FormatInt(id, 10) + "/session" }
func loginAD(id int64) string   { return "userbot/" + strconv.FormatInt(id, 10) + "/login" }

// dbSession is gotd's session storage for a ready account: sealed in the
// account's row.
type dbSession struct {
	p  *Pool
	id int64
}

func (s *dbSession) LoadSession(ctx context.Context) ([]byte, error) {
	row, err := s.p.opts.Accounts.Userbot(ctx, s.id)
	if err != nil {
		return nil, err
	}
	if len(row.Session) == 0 {
		return nil, session.ErrNotFound
	}
	return s.p.opts.Vault.Open(row.Session, sessionAD(s.id))
}

func (s *dbSession) StoreSession(ctx context.Context, data []byte) error {
	return s.p.opts.Accounts.SaveSession(context.WithoutCancel(ctx), s.id, s.p.opts.Vault.Seal(data, sessionAD(s.id)))
}

// memSession returns in-memory storage holding an account's sealed
// session (none when sealed is empty): logins run on it and store the
// result only when a step succeeds.
func (p *Pool) memSession(ctx context.Context, id int64, sealed []byte) (*session.StorageMemory, error) {
	mem := &session.StorageMemory{}
	if len(sealed) == 0 {
		return mem, nil
	}
	data, err := p.opts.Vault.Open(sealed, sessionAD(id))
	if err != nil {
		return nil, fmt.Errorf("userbot %d: %w", id, err)
	}
	if err := mem.StoreSession(ctx, data); err != nil {
		return nil, err
	}
	return mem, nil
}

// sealMem seals what an in-memory session holds.
func (p *Pool) sealMem(mem *session.StorageMemory, id int64) ([]byte, error) {
	data, err := mem.Bytes(nil)
	if err != nil {
		return nil, errors.New("the MTProto session holds no auth key")
	}
	return p.opts.Vault.Seal(data, sessionAD(id)), nil
}

// migrationTimeout bounds a move to another data center (a new key
// exchange there) within a login step; gotd's default is 15 s.
const migrationTimeout = time.Minute

// stepTimeout bounds one login step or logout, connecting included: a
// Telegram that cannot be reached fails the step instead of hanging it.
const stepTimeout = 2 * time.Minute

// runClient runs a client until fn returns, for at most stepTimeout.
func runClient(ctx context.Context, c *telegram.Client, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return c.Run(ctx, fn)
}
