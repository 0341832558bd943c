package mtproto_test

import (
	"context"
	"testing"
	"time"

	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_SendCodeAnswers: auth.sendCode answers, on demand, what
// Telegram answers some numbers instead of a code.
func TestServer_SendCodeAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{FloodWait: map[string]time.Duration{}})
	u := e.MustUser(world.UserSpec{FirstName: "Sam", Phone: "+15550000501"})
	for _, tt := range []struct {
		answer   mtproto.SendCodeAnswer
		code     int
		rpc      string
		wantType string
	}{
		{mtproto.SendCodeFlood, 400, "PHONE_NUMBER_FLOOD", ""},
		{mtproto.SendCodeUnavailable, 406, "SEND_CODE_UNAVAILABLE", ""},
		{mtproto.SendCodeEmailSetup, 0, "", "auth.sentCodeTypeSetUpEmailRequired"},
		{mtproto.SendCodePayment, 0, "", "auth.sentCodePaymentRequired"},
		{mtproto.SendCodeNormal, 0, "", "auth.sentCodeTypeApp"},
	} {
		t.Run(string(tt.answer), func(t *testing.T) {
			if err := e.srv.SetSendCodeAnswer(u.ID, tt.answer); err != nil {
				t.Fatal(err)
			}
			err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
				res, err := c.API().AuthSendCode(ctx, &tg.AuthSendCodeRequest{PhoneNumber: u.Phone, APIID: e.srv.AppID(), APIHash: e.srv.AppHash()})
				if tt.rpc != "" {
					wantRPC(t, err, tt.code, tt.rpc)
					return nil
				}
				if err != nil {
					return err
				}
				got := res.TypeName()
				if sc, ok := res.(*tg.AuthSentCode); ok {
					got = sc.Type.TypeName()
				}
				if got != tt.wantType {
					t.Errorf("answer %s, want %s", got, tt.wantType)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := mtproto.ParseSendCodeAnswer("sms"); err == nil {
		t.Error("an unknown answer is accepted")
	}
}

// TestServer_Restricted: a spam-reported account may not create groups
// or add people (USER_RESTRICTED), and may again once lifted.
func TestServer_Restricted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{FloodWait: map[string]time.Duration{}})
	u := e.MustUser(world.UserSpec{FirstName: "Rita", Phone: "+15550000502"})
	if err := e.w.SetRestricted(u.ID, true); err != nil {
		t.Fatal(err)
	}
	e.RunAs(u.Phone, "", func(ctx context.Context, api *tg.Client) error {
		_, err := createSupergroup(ctx, api, "Spam")
		wantRPC(t, err, 400, "USER_RESTRICTED")
		if err := e.w.SetRestricted(u.ID, false); err != nil {
			return err
		}
		_, err = createSupergroup(ctx, api, "Fine")
		return err
	})
}

// TestServer_AuthKeyDuplicated: one session used by two clients at once
// ends the authorization for both: 406 AUTH_KEY_DUPLICATED. A client that
// reconnects (a new session on the same key) is not a duplicate.
func TestServer_AuthKeyDuplicated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{FloodWait: map[string]time.Duration{}})
	u := e.MustUser(world.UserSpec{FirstName: "Dee", Phone: "+15550000503"})
	stored := &session.StorageMemory{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(fn func(ctx context.Context, c *telegram.Client) error) error {
		o := mtproto.ClientOptions(e.srv)
		o.SessionStorage = stored
		o.NoUpdates = true
		c := telegram.NewClient(e.srv.AppID(), e.srv.AppHash(), o)
		return c.Run(ctx, func(ctx context.Context) error { return fn(ctx, c) })
	}
	self := func(ctx context.Context, c *telegram.Client) error {
		_, err := c.API().UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
		return err
	}
	if err := run(func(ctx context.Context, c *telegram.Client) error {
		if err := e.login(ctx, c, u.Phone, ""); err != nil {
			return err
		}
		return self(ctx, c)
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := run(self); err != nil {
			t.Fatalf("reconnect %d: %v", i, err)
		}
	}
	// Two at once: X calls, Y connects and calls, X calls again.
	xCalled, yCalled, xDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		errs <- run(func(ctx context.Context, c *telegram.Client) error {
			defer close(xDone)
			if err := self(ctx, c); err != nil {
				return err
			}
			close(xCalled)
			<-yCalled
			wantRPC(t, self(ctx, c), 406, "AUTH_KEY_DUPLICATED")
			return nil
		})
	}()
	go func() {
		<-xCalled
		errs <- run(func(ctx context.Context, c *telegram.Client) error {
			err := self(ctx, c)
			close(yCalled)
			if err != nil {
				return err
			}
			<-xDone
			wantRPC(t, self(ctx, c), 406, "AUTH_KEY_DUPLICATED")
			return nil
		})
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
