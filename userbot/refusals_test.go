package userbot_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/worker"
)

// TestPool_LoginRefusals: what Telegram answers some numbers instead of a
// login code reaches the operator in words, and no login is kept.
func TestPool_LoginRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	ctx := context.Background()
	u := h.person("refused", "", world.PrivacyEverybody)
	for _, tt := range []struct {
		answer mtproto.SendCodeAnswer
		status int
		kind   string
		words  string
	}{
		{mtproto.SendCodeFlood, http.StatusTooManyRequests, "phone-flood", "wait a day"},
		{mtproto.SendCodeUnavailable, http.StatusTooManyRequests, "send-code-unavailable", "QR code"},
		{mtproto.SendCodeEmailSetup, http.StatusConflict, "email-setup-required", "login email"},
		{mtproto.SendCodePayment, http.StatusPaymentRequired, "payment-required", "payment (4.99 USD)"},
	} {
		t.Run(string(tt.answer), func(t *testing.T) {
			if err := h.sb.MTProto().SetSendCodeAnswer(u.ID, tt.answer); err != nil {
				t.Fatal(err)
			}
			_, err := h.pool.StartLogin(ctx, u.Phone)
			wantRefusal(t, err, tt.status, tt.kind)
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("the operator reads %q, want it to say %q", err, tt.words)
			}
			if rows, err := h.ub.ListUserbots(ctx); err != nil || len(rows) != 0 {
				t.Fatalf("a refused login is kept: %+v %v", rows, err)
			}
		})
	}
}

// TestPool_Restricted: an account Telegram restricted after spam reports
// (USER_RESTRICTED) is quarantined: its state says so with what to do,
// another account does the job, and it gets no more jobs.
func TestPool_Restricted(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	bob := h.person("bob", "", world.PrivacyEverybody)
	a := h.login(alice, "")
	h.login(bob, "")
	h.waitReady(2)
	if err := h.w.SetRestricted(alice.ID, true); err != nil {
		t.Fatal(err)
	}
	// Alice has fewer groups today: she is asked first, refused, and
	// Bob creates the group.
	if err := h.execute("create_group", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	if len(h.groupsOf(bob.ID)) != 1 || len(h.groupsOf(alice.ID)) != 0 {
		t.Fatalf("groups: alice %d, bob %d; want bob's one", len(h.groupsOf(alice.ID)), len(h.groupsOf(bob.ID)))
	}
	ctx := context.Background()
	row, err := h.ub.Userbot(ctx, a)
	if err != nil || row.State != models.UserbotRestricted || !strings.Contains(row.LastError, "@SpamBot") {
		t.Fatalf("alice: %+v %v", row, err)
	}
	before := len(h.calls("channels.createChannel", alice.ID))
	if err := h.execute("create_group", "customers-club"); err != nil {
		t.Fatal(err)
	}
	if got := len(h.calls("channels.createChannel", alice.ID)); got != before {
		t.Fatalf("the restricted account got another job: %d createChannel calls, want %d", got, before)
	}
}

// TestPool_AuthKeyDuplicated: an account's session used from a second
// place at once is ended by Telegram (AUTH_KEY_DUPLICATED): the account
// leaves the pool as unauthorized, and the operator is told to log it in
// again.
func TestPool_AuthKeyDuplicated(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	a := h.login(alice, "")
	h.waitReady(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A copy of the session, as a second deployment on a copied database
	// would have, makes a call while the pool holds the account.
	row, err := h.ub.Userbot(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	data, err := h.vault.Open(row.Session, "userbot/"+strconv.FormatInt(a, 10)+"/session")
	if err != nil {
		t.Fatal(err)
	}
	copied := &session.StorageMemory{}
	if err := copied.StoreSession(ctx, data); err != nil {
		t.Fatal(err)
	}
	o := mtproto.ClientOptions(h.sb.MTProto())
	o.SessionStorage, o.NoUpdates = copied, true
	other := telegram.NewClient(h.sb.MTProto().AppID(), h.sb.MTProto().AppHash(), o)
	if err := other.Run(ctx, func(ctx context.Context) error {
		_, err := other.API().UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err = h.execute("create_group", "webmasters-pro")
	var retry *worker.RetryError
	if !errors.As(err, &retry) {
		t.Fatalf("create_group: %v, want a retry for want of an account", err)
	}
	row, err = h.ub.Userbot(ctx, a)
	if err != nil || row.State != models.UserbotUnauthorized || !strings.Contains(row.LastError, "log the account in again") {
		t.Fatalf("alice: %+v %v", row, err)
	}
}

// TestPool_PromoteRefusals: Telegram's refusals to make the bot an admin
// of a bound group are permanent until someone acts, and say what to do.
func TestPool_PromoteRefusals(t *testing.T) {
	promoteOnly := world.AdminRights{CanPromoteMembers: true, CanInviteUsers: true}
	for _, tt := range []struct {
		name   string
		limits world.Limits
		rights world.AdminRights // the userbot account's, given by the group's creator
		noBot  bool              // groups turned off for the bot in BotFather
		words  string
	}{
		{"BOT_GROUPS_BLOCKED", world.Limits{}, world.AllAdminRights(), true, "@BotFather"},
		{"ADMINS_TOO_MUCH", world.Limits{MaxAdmins: 1}, world.AllAdminRights(), false, "as many admins as Telegram allows"},
		{"RIGHT_FORBIDDEN", world.Limits{}, promoteOnly, false, "may not give the bot the rights"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.limits.FloodWait = map[string]time.Duration{}
			h := newHarness(t, harnessOptions{noBot: true, limits: tt.limits})
			carol := h.person("carol", "", world.PrivacyEverybody)
			alice := h.person("alice", "", world.PrivacyEverybody)
			ch, err := h.sb.CreateChat(carol.ID, "Webmasters Pro", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := h.w.AddMembers(ch.ID, carol.ID, []int64{alice.ID}); err != nil {
				t.Fatal(err)
			}
			if err := h.w.PromoteAdmin(ch.ID, carol.ID, alice.ID, tt.rights, ""); err != nil {
				t.Fatal(err)
			}
			if tt.noBot {
				if err := h.w.SetAllowGroups(h.sb.Bot().ID, false); err != nil {
					t.Fatal(err)
				}
			}
			h.login(alice, "")
			h.waitReady(1)
			if err := h.store.BindChat(context.Background(), "webmasters-pro", ch.BotAPIID(), "test"); err != nil {
				t.Fatal(err)
			}
			err = h.execute("create_group", "webmasters-pro")
			if !worker.IsPermanent(err) || !strings.Contains(err.Error(), tt.words) || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("create_group: %v; want a permanent failure saying %q", err, tt.words)
			}
		})
	}
}

// TestPool_BannedAccount: Telegram's ban of an account: its phone cannot
// log in (PHONE_NUMBER_BANNED), and a logged-in account leaves the pool as
// deactivated (USER_DEACTIVATED_BAN) while another does the job.
func TestPool_BannedAccount(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	ctx := context.Background()
	alice := h.person("alice", "", world.PrivacyEverybody)
	bob := h.person("bob", "", world.PrivacyEverybody)
	a := h.login(alice, "")
	h.login(bob, "")
	h.waitReady(2)
	if err := h.w.SetBanned(alice.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := h.execute("create_group", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	if len(h.groupsOf(bob.ID)) != 1 {
		t.Fatalf("bob's groups: %d, want 1", len(h.groupsOf(bob.ID)))
	}
	row, err := h.ub.Userbot(ctx, a)
	if err != nil || row.State != models.UserbotDeactivated {
		t.Fatalf("alice: %+v %v", row, err)
	}
	carol := h.person("carol", "", world.PrivacyEverybody)
	if err := h.w.SetBanned(carol.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err = h.pool.StartLogin(ctx, carol.Phone)
	wantRefusal(t, err, http.StatusForbidden, "phone-banned")
}

// TestPool_LoginCodeExpired: a code used after it expired ends the login.
func TestPool_LoginCodeExpired(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}, CodeTTL: time.Millisecond}})
	ctx := context.Background()
	u := h.person("late", "", world.PrivacyEverybody)
	step, err := h.pool.StartLogin(ctx, u.Phone)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := h.w.LastCode(u.Phone)
	time.Sleep(10 * time.Millisecond)
	_, err = h.pool.SubmitCode(ctx, step.ID, code)
	wantRefusal(t, err, http.StatusGone, "code-expired")
	if _, err := h.ub.Userbot(ctx, step.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the expired login stays: %v", err)
	}
}
