package mtproto_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// Test helpers: a world on a fake clock, a server, and real gotd clients.

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

// testKey is one RSA key for the whole test binary: generating 2048-bit
// keys is slow.
func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		key = k
	})
	return key
}

type env struct {
	t     *testing.T
	clock *sandboxtest.Clock
	w     *world.World
	srv   *mtproto.Server
}

// newEnv starts a server on a fresh world with the given limits.
func newEnv(t *testing.T, limits world.Limits) *env {
	t.Helper()
	return newEnvWith(t, limits, mtproto.Options{})
}

// newEnvWith is newEnv with server options.
func newEnvWith(t *testing.T, limits world.Limits, opts mtproto.Options) *env {
	t.Helper()
	clk := new(sandboxtest.Clock) // 2026-11-25 10:00 UTC
	w := world.New(world.Options{Seed: 1, Now: clk.Now, Limits: limits})
	opts.Key = testKey(t)
	srv, err := mtproto.New(w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &env{t: t, clock: clk, w: w, srv: srv}
}

// MustUser creates a person.
func (e *env) MustUser(spec world.UserSpec) world.User {
	e.t.Helper()
	u, err := e.w.CreateUser(spec)
	if err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

// clientOptions configures a client: an update handler, and an app id and
// hash (zero: the server's).
type clientOptions struct {
	appID   int
	appHash string
	updates telegram.UpdateHandler
	// viaPEM configures the client from the address and PEM key alone, as
	// `karmagate serve` does from the sandbox's env file.
	viaPEM bool
}

// Run runs a real gotd client against the server until fn returns.
func (e *env) Run(opts clientOptions, fn func(ctx context.Context, c *telegram.Client) error) error {
	e.t.Helper()
	o := mtproto.ClientOptions(e.srv)
	if opts.viaPEM {
		var err error
		if o, err = mtproto.ClientOptionsFor(e.srv.Addr(), e.srv.PublicKeyPEM()); err != nil {
			return err
		}
	}
	o.SessionStorage = &session.StorageMemory{}
	o.NoUpdates = opts.updates == nil
	// A move to another data center is a new key exchange: slow under
	// -race on a loaded machine, past gotd's 15 s default.
	o.MigrationTimeout = time.Minute
	o.UpdateHandler = opts.updates
	if opts.appID == 0 {
		opts.appID, opts.appHash = e.srv.AppID(), e.srv.AppHash()
	}
	client := telegram.NewClient(opts.appID, opts.appHash, o)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a loaded CI machine runs the whole package in parallel under -race
	defer cancel()
	return client.Run(ctx, func(ctx context.Context) error { return fn(ctx, client) })
}

// login signs in with the code the world "sent", and the 2FA password if
// the world asks for one.
func (e *env) login(ctx context.Context, c *telegram.Client, phone, password string) error {
	code := auth.CodeAuthenticatorFunc(func(ctx context.Context, _ *tg.AuthSentCode) (string, error) {
		code, ok := e.w.LastCode(phone)
		if !ok {
			return "", errors.New("no code sent")
		}
		return code, nil
	})
	var a auth.UserAuthenticator = auth.CodeOnly(phone, code)
	if password != "" {
		a = auth.Constant(phone, password, code)
	}
	return c.Auth().IfNecessary(ctx, auth.NewFlow(a, auth.SendCodeOptions{}))
}

// RunAs runs fn with a client logged in as the user with phone.
func (e *env) RunAs(phone, password string, fn func(ctx context.Context, api *tg.Client) error) {
	e.t.Helper()
	err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
		if err := e.login(ctx, c, phone, password); err != nil {
			return err
		}
		return fn(ctx, c.API())
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// wantRPC fails unless err is the RPC error typ with code.
func wantRPC(t *testing.T, err error, code int, typ string) {
	t.Helper()
	rpc, ok := tgerr.As(err)
	if !ok {
		t.Fatalf("got %v, want RPC error %d %s", err, code, typ)
	}
	if rpc.Code != code || rpc.Type != typ {
		t.Fatalf("got RPC error %d %s, want %d %s", rpc.Code, rpc.Message, code, typ)
	}
}

var authSendCodeOptions = auth.SendCodeOptions{}

// createSupergroup creates a supergroup and returns its input peer.
func createSupergroup(ctx context.Context, api *tg.Client, title string) (*tg.InputChannel, error) {
	upd, err := api.ChannelsCreateChannel(ctx, &tg.ChannelsCreateChannelRequest{Megagroup: true, Title: title, About: "about " + title})
	if err != nil {
		return nil, err
	}
	u, ok := upd.(*tg.Updates)
	if !ok {
		return nil, errors.New("createChannel: not updates")
	}
	for _, c := range u.Chats {
		if ch, ok := c.(*tg.Channel); ok {
			return ch.AsInput(), nil
		}
	}
	return nil, errors.New("createChannel: no channel in updates")
}

func inputUser(u world.User) *tg.InputUser {
	return &tg.InputUser{UserID: u.ID, AccessHash: u.AccessHash}
}
