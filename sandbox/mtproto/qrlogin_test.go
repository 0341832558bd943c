package mtproto_test

import (
	"context"
	"errors"
	"testing"
	"time"

	gotdclock "github.com/gotd/td/clock"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/telegram/auth/qrlogin"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// worldClock is gotd's system clock reading the world's time, so token
// expiry lines up with the server's.
type worldClock struct {
	gotdclock.Clock
	now func() time.Time
}

func (c worldClock) Now() time.Time { return c.now() }

// TestServer_QRLogin logs in with gotd's qrlogin: the token shown is
// accepted as a person scanning it would (AcceptLoginURL), then from a
// logged-in client (auth.acceptLoginToken); an account with a password
// still needs it.
func TestServer_QRLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	lena := e.MustUser(world.UserSpec{FirstName: "Lena", Phone: "+15550000130"})
	max := e.MustUser(world.UserSpec{FirstName: "Max", Phone: "+15550000131", Password: "pw"})

	// qrLogin runs gotd's QR flow; accept is called with each token shown.
	qrLogin := func(password string, accept func(ctx context.Context, token qrlogin.Token) error) (int64, error) {
		d := tg.NewUpdateDispatcher()
		loggedIn := qrlogin.OnLoginToken(d)
		var self int64
		err := e.Run(clientOptions{updates: d}, func(ctx context.Context, c *telegram.Client) error {
			qr := qrlogin.NewQR(c.API(), e.srv.AppID(), e.srv.AppHash(), qrlogin.Options{Clock: worldClock{Clock: gotdclock.System, now: e.clock.Now}})
			a, err := qr.Auth(ctx, loggedIn, func(ctx context.Context, token qrlogin.Token) error {
				go func() {
					if err := accept(ctx, token); err != nil {
						t.Errorf("accept: %v", err)
					}
				}()
				return nil
			})
			if errors.Is(err, auth.ErrPasswordAuthNeeded) || tgIs(err, "SESSION_PASSWORD_NEEDED") {
				if _, err := c.Auth().Password(ctx, password); err != nil {
					return err
				}
				st, err := c.Auth().Status(ctx)
				if err != nil {
					return err
				}
				self = st.User.ID
				return nil
			}
			if err != nil {
				return err
			}
			self = a.User.(*tg.User).ID
			return nil
		})
		return self, err
	}

	t.Run("scanned by a person", func(t *testing.T) {
		got, err := qrLogin("", func(ctx context.Context, token qrlogin.Token) error {
			return e.srv.AcceptLoginURL(ctx, lena.ID, token.URL())
		})
		if err != nil || got != lena.ID {
			t.Fatalf("logged in as %d, %v; want %d", got, err, lena.ID)
		}
	})
	t.Run("accepted by a logged-in client", func(t *testing.T) {
		got, err := qrLogin("", func(ctx context.Context, token qrlogin.Token) error {
			var acceptErr error
			e.RunAs(lena.Phone, "", func(ctx context.Context, api *tg.Client) error {
				_, acceptErr = qrlogin.AcceptQR(ctx, api, token)
				return nil
			})
			return acceptErr
		})
		if err != nil || got != lena.ID {
			t.Fatalf("logged in as %d, %v; want %d", got, err, lena.ID)
		}
	})
	t.Run("with 2FA", func(t *testing.T) {
		got, err := qrLogin("pw", func(ctx context.Context, token qrlogin.Token) error {
			return e.srv.AcceptLoginURL(ctx, max.ID, token.URL())
		})
		if err != nil || got != max.ID {
			t.Fatalf("logged in as %d, %v; want %d", got, err, max.ID)
		}
	})
	t.Run("bad tokens", func(t *testing.T) {
		err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
			res, err := c.API().AuthExportLoginToken(ctx, &tg.AuthExportLoginTokenRequest{APIID: e.srv.AppID(), APIHash: e.srv.AppHash()})
			if err != nil {
				return err
			}
			token := qrlogin.NewToken(res.(*tg.AuthLoginToken).Token, res.(*tg.AuthLoginToken).Expires)
			wantRPC(t, e.srv.AcceptLoginURL(ctx, lena.ID, "tg://login?token=AAAA"), 400, "AUTH_TOKEN_INVALID")
			e.clock.Advance(time.Minute)
			wantRPC(t, e.srv.AcceptLoginURL(ctx, lena.ID, token.URL()), 400, "AUTH_TOKEN_EXPIRED")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func tgIs(err error, typ string) bool {
	var rpc interface{ IsType(string) bool }
	return errors.As(err, &rpc) && rpc.IsType(typ)
}
