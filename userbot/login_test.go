package userbot_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/userbot"
)

func wantRefusal(t *testing.T, err error, status int, kind string) {
	t.Helper()
	var e *userbot.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a refusal %d %s", err, status, kind)
	}
	if e.Status != status || e.Kind != kind {
		t.Fatalf("got refusal %d %s (%v), want %d %s", e.Status, e.Kind, e, status, kind)
	}
}

func TestPool_Login(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true})
	ctx := context.Background()
	alice := h.person("alice", "hunter2", world.PrivacyEverybody)
	t.Run("invalid phone stores nothing", func(t *testing.T) {
		_, err := h.pool.StartLogin(ctx, "12")
		wantRefusal(t, err, http.StatusUnprocessableEntity, "phone-invalid")
		rows, err := h.ub.ListUserbots(ctx)
		if err != nil || len(rows) != 0 {
			t.Fatalf("rows: %v %v", rows, err)
		}
	})
	t.Run("unknown phone ends the login", func(t *testing.T) {
		step, err := h.pool.StartLogin(ctx, "+31699999999")
		if err != nil {
			t.Fatal(err)
		}
		code, _ := h.w.LastCode("+31699999999")
		_, err = h.pool.SubmitCode(ctx, step.ID, code)
		wantRefusal(t, err, http.StatusNotFound, "phone-unknown")
		if _, err := h.ub.Userbot(ctx, step.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the failed login stays: %v", err)
		}
	})
	var id int64
	t.Run("wrong code, then wrong password, then right", func(t *testing.T) {
		step, err := h.pool.StartLogin(ctx, alice.Phone)
		if err != nil {
			t.Fatal(err)
		}
		id = step.ID
		if step.State != models.UserbotCodeSent {
			t.Fatalf("state %s", step.State)
		}
		code, _ := h.w.LastCode(alice.Phone)
		_, err = h.pool.SubmitCode(ctx, id, "00000")
		wantRefusal(t, err, http.StatusUnprocessableEntity, "code-invalid")
		var e *userbot.Error
		if errors.As(err, &e) && e.Telegram != "PHONE_CODE_INVALID" {
			t.Errorf("Telegram's reason: %q", e.Telegram)
		}
		_, err = h.pool.SubmitPassword(ctx, id, "hunter2")
		wantRefusal(t, err, http.StatusConflict, "login-state")
		step, err = h.pool.SubmitCode(ctx, id, code)
		if err != nil || step.State != models.UserbotPasswordNeeded {
			t.Fatalf("right code: %+v %v", step, err)
		}
		_, err = h.pool.SubmitPassword(ctx, id, "wrong")
		wantRefusal(t, err, http.StatusUnprocessableEntity, "password-invalid")
		step, err = h.pool.SubmitPassword(ctx, id, "hunter2")
		if err != nil || step.State != models.UserbotReady {
			t.Fatalf("right password: %+v %v", step, err)
		}
	})
	t.Run("the pool connects it", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 30e9)
		defer cancel()
		if err := h.pool.WaitReady(wctx, 1); err != nil {
			t.Fatal(err)
		}
		list, err := h.pool.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %+v %v", list, err)
		}
		if s := list[0]; s.State != models.UserbotReady || *s.TelegramID != alice.ID || s.ChannelCap != 500 || s.HeldBy != h.pool.Owner() {
			t.Fatalf("listed: %+v", s)
		}
	})
	t.Run("logout ends the session on Telegram", func(t *testing.T) {
		before := len(h.calls("auth.logOut", alice.ID))
		if err := h.pool.Logout(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got := len(h.calls("auth.logOut", alice.ID)); got != before+1 {
			t.Fatalf("auth.logOut calls: %d, want %d", got, before+1)
		}
		if _, err := h.ub.Userbot(ctx, id); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("after logout: %v", err)
		}
	})
}

func TestPool_LoginQR(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true})
	ctx := context.Background()
	for _, tt := range []struct {
		name, user, password string
	}{{"scanned", "qrone", ""}, {"scanned, then the 2FA password", "qrtwo", "pw2"}} {
		t.Run(tt.name, func(t *testing.T) {
			u := h.person(tt.user, tt.password, world.PrivacyEverybody)
			var drawn strings.Builder
			shown := 0
			step, err := h.pool.LoginQR(ctx, func(ctx context.Context, url string, expires time.Time) error {
				shown++
				if err := userbot.DrawQR(&drawn, url); err != nil {
					return err
				}
				// The account's owner scans it on their phone.
				go func() {
					if err := h.sb.MTProto().AcceptLoginURL(context.Background(), u.ID, url); err != nil {
						t.Errorf("accept: %v", err)
					}
				}()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if shown == 0 || strings.Count(drawn.String(), "\n") < 10 {
				t.Fatalf("QR code drawn %d times:\n%s", shown, drawn.String())
			}
			if tt.password != "" {
				if step.State != models.UserbotPasswordNeeded {
					t.Fatalf("state %s, want password_needed", step.State)
				}
				if step, err = h.pool.SubmitPassword(ctx, step.ID, tt.password); err != nil {
					t.Fatal(err)
				}
			}
			row, err := h.ub.Userbot(ctx, step.ID)
			if err != nil || step.State != models.UserbotReady || row.TgUserID == nil || *row.TgUserID != u.ID || !linking.SamePhone(row.Phone, u.Phone) {
				t.Fatalf("after the QR login: %+v %+v %v", step, row, err)
			}
		})
	}
}

// TestPool_LoginOtherDC: accounts that live on another data center than
// the one clients start on log in by code (PHONE_MIGRATE_4: the session
// moves to DC 4 and later steps and the pool's client find it there) and
// by QR code (auth.loginTokenMigrateTo: the client migrates and imports
// the token), with and without a 2FA password.
func TestPool_LoginOtherDC(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true})
	ctx := context.Background()
	t.Run("by code, with 2FA", func(t *testing.T) {
		u := h.personOn(4, "dcfour", "pw4", world.PrivacyEverybody)
		h.login(u, "pw4")
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := h.pool.WaitReady(wctx, 1); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct {
		name, user, password string
	}{{"by QR code", "qrdcone", ""}, {"by QR code, with 2FA", "qrdctwo", "pw5"}} {
		t.Run(tt.name, func(t *testing.T) {
			u := h.personOn(5, tt.user, tt.password, world.PrivacyEverybody)
			step, err := h.pool.LoginQR(ctx, func(ctx context.Context, url string, expires time.Time) error {
				go func() {
					if err := h.sb.MTProto().AcceptLoginURL(context.Background(), u.ID, url); err != nil {
						t.Errorf("accept: %v", err)
					}
				}()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.password != "" {
				if step, err = h.pool.SubmitPassword(ctx, step.ID, tt.password); err != nil {
					t.Fatal(err)
				}
			}
			row, err := h.ub.Userbot(ctx, step.ID)
			if err != nil || step.State != models.UserbotReady || row.TgUserID == nil || *row.TgUserID != u.ID {
				t.Fatalf("after the QR login: %+v %+v %v", step, row, err)
			}
		})
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.pool.WaitReady(wctx, 3); err != nil {
		t.Fatalf("the pool connects the three accounts on DC 4 and 5: %v", err)
	}
}
