package mtproto_test

import (
	"context"
	"errors"
	"testing"
	"time"

	gotdclock "github.com/gotd/td/clock"
	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/auth/qrlogin"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/world"
)

// thisDC asks the server which data center the client is on.
func thisDC(ctx context.Context, api *tg.Client) (int, error) {
	cfg, err := api.HelpGetConfig(ctx)
	if err != nil {
		return 0, err
	}
	return cfg.ThisDC, nil
}

// TestServer_DataCenters: an account on DC 4 logs in from DC 2, where
// clients start, as on Telegram: auth.sendCode answers PHONE_MIGRATE_4
// (gotd moves on its own), auth.signIn on the wrong DC USER_MIGRATE_4, and
// the QR flow auth.loginTokenMigrateTo, which only a client that migrates
// and imports the token completes.
func TestServer_DataCenters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	dora := e.MustUser(world.UserSpec{FirstName: "Dora", Phone: "+15550000401", DC: 4})
	for dc := 1; dc <= world.MaxDC; dc++ {
		if e.srv.DCAddr(dc) == "" {
			t.Fatalf("DC %d has no address", dc)
		}
	}
	if _, err := e.w.CreateUser(world.UserSpec{FirstName: "Nobody", DC: 6}); !errors.Is(err, world.ErrDCInvalid) {
		t.Fatalf("DC 6: %v", err)
	}

	t.Run("by code", func(t *testing.T) {
		err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
			_, err := c.API().AuthSendCode(ctx, &tg.AuthSendCodeRequest{PhoneNumber: dora.Phone, APIID: e.srv.AppID(), APIHash: e.srv.AppHash(), Settings: tg.CodeSettings{}})
			if err != nil {
				return err
			}
			if dc, err := thisDC(ctx, c.API()); err != nil || dc != 4 {
				t.Errorf("after auth.sendCode the client is on DC %d (%v), want 4", dc, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// What gotd did for us: the raw answers on DC 2, then DC 4.
		waitCalls(t, e.w, "auth.sendCode", func(calls []world.Call) bool {
			return len(calls) == 2 && calls[0].Error == "PHONE_MIGRATE_4" && calls[1].Error == ""
		})
		e.clock.Advance(time.Minute) // auth.sendCode's flood wait
		e.RunAs(dora.Phone, "", func(ctx context.Context, api *tg.Client) error {
			if dc, err := thisDC(ctx, api); err != nil || dc != 4 {
				t.Errorf("logged in on DC %d (%v), want 4", dc, err)
			}
			return nil
		})
	})
	t.Run("signIn on the wrong DC", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		hash, err := e.w.SendCode(dora.Phone)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := e.w.LastCode(dora.Phone)
		o := mtproto.ClientOptions(e.srv)
		o.SessionStorage = &session.StorageMemory{}
		o.NoUpdates = true
		o.MigrationTimeout = 1 // fail the automatic move: the raw answer shows
		c := telegram.NewClient(e.srv.AppID(), e.srv.AppHash(), o)
		err = c.Run(context.Background(), func(ctx context.Context) error {
			_, err := c.API().AuthSignIn(ctx, &tg.AuthSignInRequest{PhoneNumber: dora.Phone, PhoneCodeHash: hash, PhoneCode: code})
			return err
		})
		if err == nil {
			t.Fatal("signIn on DC 2 succeeded")
		}
		waitCalls(t, e.w, "auth.signIn", func(calls []world.Call) bool {
			return len(calls) > 1 && calls[len(calls)-1].Error == "USER_MIGRATE_4"
		})
	})

	qr := func(migrate bool) (int64, int, error) {
		d := tg.NewUpdateDispatcher()
		loggedIn := qrlogin.OnLoginToken(d)
		var self int64
		var dc int
		err := e.Run(clientOptions{updates: d}, func(ctx context.Context, c *telegram.Client) error {
			opts := qrlogin.Options{Clock: worldClock{Clock: gotdclock.System, now: e.clock.Now}}
			if migrate {
				opts.Migrate = c.MigrateTo
			}
			a, err := qrlogin.NewQR(c.API(), e.srv.AppID(), e.srv.AppHash(), opts).Auth(ctx, loggedIn, func(ctx context.Context, token qrlogin.Token) error {
				go func() {
					if err := e.srv.AcceptLoginURL(context.Background(), dora.ID, token.URL()); err != nil {
						t.Errorf("accept: %v", err)
					}
				}()
				return nil
			})
			var mig *qrlogin.MigrationNeededError
			if migrate && errors.As(err, &mig) {
				// gotd migrates only on the updateLoginToken signal,
				// which it drops when not waiting for it yet; its token
				// refresh then meets loginTokenMigrateTo: finish here.
				if err := c.MigrateTo(ctx, mig.MigrateTo.DCID); err != nil {
					return err
				}
				res, err := c.API().AuthImportLoginToken(ctx, mig.MigrateTo.Token)
				if err != nil {
					return err
				}
				a = res.(*tg.AuthLoginTokenSuccess).Authorization.(*tg.AuthAuthorization)
			} else if err != nil {
				return err
			}
			self = a.User.(*tg.User).ID
			dc, err = thisDC(ctx, c.API())
			return err
		})
		return self, dc, err
	}
	t.Run("QR without migrating", func(t *testing.T) {
		_, _, err := qr(false)
		var mig *qrlogin.MigrationNeededError
		if !errors.As(err, &mig) || mig.MigrateTo.DCID != 4 {
			t.Fatalf("got %v, want loginTokenMigrateTo DC 4", err)
		}
	})
	t.Run("QR migrating", func(t *testing.T) {
		self, dc, err := qr(true)
		if err != nil || self != dora.ID || dc != 4 {
			t.Fatalf("logged in as %d on DC %d (%v), want %d on DC 4", self, dc, err, dora.ID)
		}
	})
	t.Run("a migrated token is imported only on its DC, once", func(t *testing.T) {
		err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
			_, err := c.API().AuthImportLoginToken(ctx, []byte("nope"))
			wantRPC(t, err, 400, "AUTH_TOKEN_INVALID")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// callsOf is the world's MTProto calls of method, oldest first.
func callsOf(w *world.World, method string) []world.Call {
	var out []world.Call
	for _, c := range w.Calls() {
		if c.API == "mtproto" && c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// waitCalls waits for the world's calls of method to satisfy ok: a call
// is logged just after it is answered.
func waitCalls(t *testing.T, w *world.World, method string, ok func([]world.Call) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		calls := callsOf(w, method)
		if ok(calls) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s calls: %+v", method, calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
