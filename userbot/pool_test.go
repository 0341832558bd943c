package userbot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/userbot"
	"github.com/karmagate/karmagate/worker"
)

func (h *harness) waitReady(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.pool.WaitReady(ctx, n); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) execute(kind, chat string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.pool.Executors()[kind].Execute(ctx, &models.Action{Kind: kind, ChatKey: chat})
}

func TestPool_DroppedConnection(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, proxy: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	h.login(alice, "")
	h.waitReady(1)
	// The connection drops once the group exists, before Telegram's answer
	// reaches the client.
	var once sync.Once
	cancel := h.w.Subscribe(func(ev world.Event) {
		if _, ok := ev.(world.ChatCreated); ok {
			once.Do(h.proxy.cut)
		}
	})
	defer cancel()
	err := h.execute("create_group", "webmasters-pro")
	for i := 0; err != nil && i < 5; i++ {
		t.Logf("attempt %d: %v", i+1, err)
		err = h.execute("create_group", "webmasters-pro")
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.groupsOf(alice.ID)); n != 1 {
		t.Fatalf("groups created: %d, want 1", n)
	}
	if h.chatID("webmasters-pro") != h.groupsOf(alice.ID)[0].BotAPIID() {
		t.Fatalf("bound to %d, want the one group", h.chatID("webmasters-pro"))
	}
	h.wantBotAdmin(h.chatID("webmasters-pro"))
	if n := len(h.calls("channels.createChannel", alice.ID)); n != 1 {
		t.Errorf("createChannel calls: %d, want 1", n)
	}
}

func TestPool_LostAccount(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	bob := h.person("bob", "", world.PrivacyEverybody)
	a := h.login(alice, "")
	h.login(bob, "")
	h.waitReady(2)
	h.sb.MTProto().Freeze(alice.ID, true)
	if err := h.execute("create_group", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	if len(h.groupsOf(bob.ID)) != 1 || len(h.groupsOf(alice.ID)) != 0 {
		t.Fatalf("groups: alice %d, bob %d; want bob's one", len(h.groupsOf(alice.ID)), len(h.groupsOf(bob.ID)))
	}
	ctx := context.Background()
	row, err := h.ub.Userbot(ctx, a)
	if err != nil || row.State != models.UserbotFrozen || row.LastError == "" {
		t.Fatalf("alice: %+v %v", row, err)
	}
	evs, err := h.store.Events(ctx, models.EventFilter{Kind: models.EventUserbotLost})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %+v %v", evs, err)
	}
	h.eventually("alice out of the pool", func() bool {
		list, err := h.pool.List(ctx)
		return err == nil && len(list) == 2 && list[0].HeldBy == ""
	})
}

func TestPool_PeerFlood(t *testing.T) {
	h := newHarness(t, harnessOptions{limits: world.Limits{PeerFloodAfter: 2, FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	a := h.login(alice, "")
	h.eventually("the groups created", func() bool { return h.chatID("webmasters-pro") != 0 })
	ctx := context.Background()
	member := func(id string) world.User {
		u := h.person(id, "", world.PrivacyEverybody)
		in := models.MemberInput{ID: id, Karma: 150, Groups: []string{"webmasters"}}
		if err := in.Normalize(h.store.Rules()); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.PutMember(ctx, in, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.LinkTelegram(ctx, id, u.ID, u.Username, "test"); err != nil {
			t.Fatal(err)
		}
		h.worker.Wake()
		return u
	}
	invited := func(id string) bool {
		v, err := h.store.FindMember(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		st := gate.State(v.Chats[0].State)
		return st == gate.StateInvited || st == gate.StateMember
	}
	var users []world.User
	for _, id := range []string{"m1", "m2", "m3"} {
		users = append(users, member(id))
	}
	h.eventually("three invites done", func() bool { return invited("m1") && invited("m2") && invited("m3") })
	calls := h.calls("channels.inviteToChannel", alice.ID)
	flooded := false
	for _, c := range calls {
		flooded = flooded || c.Error == "PEER_FLOOD"
	}
	if !flooded {
		t.Fatalf("inviteToChannel calls %+v: want a PEER_FLOOD", calls)
	}
	chat, _ := h.w.ChatByBotAPIID(h.chatID("webmasters-pro"))
	in := 0
	for _, u := range users {
		if h.w.Member(chat.ID, u.ID).Status == world.StatusMember {
			in++
		}
	}
	if in != 2 {
		t.Errorf("added directly: %d, want 2 (the flood limit)", in)
	}
	row, err := h.ub.Userbot(ctx, a)
	if err != nil || row.PeerFloodAt == nil {
		t.Fatalf("alice not marked: %+v %v", row, err)
	}
	// No further adds from this account: the next member gets the link.
	m4 := member("m4")
	h.eventually("the fourth invite done", func() bool { return invited("m4") })
	if got := len(h.calls("channels.inviteToChannel", alice.ID)); got != len(calls) {
		t.Fatalf("inviteToChannel calls after PEER_FLOOD: %d, want %d", got, len(calls))
	}
	// The bot's invite path took over: it sent (or tried to send, to
	// someone who never talked to it) the join link.
	ns, err := h.store.Notices(ctx, m4.ID)
	if err != nil || len(ns) != 1 || ns[0].Kind != "access_gained" {
		t.Fatalf("the fourth member's notices: %+v %v, want the join link", ns, err)
	}
}

func TestPool_Audit(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	h.login(alice, "")
	h.waitReady(1)
	if err := h.execute("create_group", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	chat, _ := h.w.ChatByBotAPIID(h.chatID("webmasters-pro"))
	ctx := context.Background()
	put := func(id string, karma int64, u world.User, recordedIn bool) {
		in := models.MemberInput{ID: id, Karma: karma, Groups: []string{"webmasters"}}
		if err := in.Normalize(h.store.Rules()); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.PutMember(ctx, in, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.LinkTelegram(ctx, id, u.ID, "", "test"); err != nil {
			t.Fatal(err)
		}
		if recordedIn {
			if _, err := h.store.SetInChat(ctx, id, "webmasters-pro", true, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	silent := h.person("silent", "", world.PrivacyEverybody)
	gone := h.person("gone", "", world.PrivacyEverybody)
	stranger := h.person("stranger", "", world.PrivacyEverybody)
	put("silent", 150, silent, false)
	put("gone", 150, gone, true)
	if _, _, err := h.w.AddMembers(chat.ID, alice.ID, []int64{silent.ID, stranger.ID}); err != nil {
		t.Fatal(err)
	}
	if err := h.execute("audit", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id string
		in bool
	}{{"silent", true}, {"gone", false}} {
		v, err := h.store.FindMember(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Chats[0].InChat != tt.in {
			t.Errorf("%s: in_chat %v, want %v", tt.id, v.Chats[0].InChat, tt.in)
		}
	}
	rm, err := h.store.ChatActions(ctx, "webmasters-pro", gate.ActionRemove, models.ActionPending, 10)
	if err != nil || len(rm) != 1 || *rm[0].TgUserID != stranger.ID {
		t.Fatalf("removals queued: %+v %v, want the stranger's", rm, err)
	}
	t.Run("AuditChat reports, for a reconcile pass", func(t *testing.T) {
		a, err := h.pool.AuditChat(ctx, "webmasters-pro")
		// The stranger's removal waits already: not queued again.
		if err != nil || a.Present != 2 || a.Joined != 0 || a.Left != 0 || a.Strangers != 0 {
			t.Fatalf("AuditChat: %+v, %v", a, err)
		}
		if _, err := h.pool.AuditChat(ctx, "customers-club"); !errors.Is(err, worker.ErrCannotAudit) {
			t.Fatalf("a chat without a group: %v, want ErrCannotAudit", err)
		}
	})
	t.Run("the userbot removes when the bot cannot", func(t *testing.T) {
		if err := h.store.SetChatBot(ctx, "webmasters-pro", models.BotInChat{Status: "member"}); err != nil {
			t.Fatal(err)
		}
		fallback := worker.ExecutorFunc(func(context.Context, *models.Action) error {
			t.Error("the bot's removal was called")
			return nil
		})
		if err := h.pool.Remove(fallback).Execute(ctx, &rm[0]); err != nil {
			t.Fatal(err)
		}
		if st := h.w.Member(chat.ID, stranger.ID).Status; st.IsMember() || st == world.StatusKicked {
			t.Fatalf("the stranger: %s, want out and free to come back", st)
		}
	})
}

func TestPool_ResolvePhone(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, phoneImport: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	h.login(alice, "")
	h.waitReady(1)
	open := h.person("open", "", world.PrivacyEverybody)
	hidden := h.person("hidden", "", world.PrivacyNobody)
	ctx := context.Background()
	tests := []struct {
		name  string
		phone string
		want  linking.Resolution
	}{
		{"visible", open.Phone, linking.Resolution{Status: linking.Resolved, UserID: open.ID, Username: open.Username}},
		{"hidden by privacy", hidden.Phone, linking.Resolution{Status: linking.Unresolved}},
		{"nobody's", "+31699990000", linking.Resolution{Status: linking.Unresolved}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.pool.ResolvePhone(ctx, tt.phone)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.want.Status || got.UserID != tt.want.UserID || got.Username != tt.want.Username {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if h.w.IsContact(alice.ID, open.ID) {
		t.Error("the looked-up contact was not deleted")
	}
}

// TestPool_AuditSeesAdmins: a userbot audit lists the group's admins too.
// A linked member who is an admin stays recorded inside (today's audit
// listed only ordinary participants and recorded every admin as gone), and
// an admin linked to no member is no stranger: nothing is queued for them.
func TestPool_AuditSeesAdmins(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	alice := h.person("alice", "", world.PrivacyEverybody)
	h.login(alice, "")
	h.waitReady(1)
	if err := h.execute("create_group", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	chat, _ := h.w.ChatByBotAPIID(h.chatID("webmasters-pro"))
	ctx := context.Background()
	mod := h.person("mod", "", world.PrivacyEverybody)
	helper := h.person("helper", "", world.PrivacyEverybody) // an admin no member is linked to
	in := models.MemberInput{ID: "mod", Karma: 150, Groups: []string{"webmasters"}}
	if err := in.Normalize(h.store.Rules()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.PutMember(ctx, in, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.LinkTelegram(ctx, "mod", mod.ID, "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.SetInChat(ctx, "mod", "webmasters-pro", true, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.w.AddMembers(chat.ID, alice.ID, []int64{mod.ID, helper.ID}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{mod.ID, helper.ID} {
		if err := h.w.PromoteAdmin(chat.ID, alice.ID, id, world.AdminRights{CanDeleteMessages: true}, ""); err != nil {
			t.Fatal(err)
		}
	}
	a, err := h.pool.AuditChat(ctx, "webmasters-pro")
	if err != nil {
		t.Fatal(err)
	}
	if a.Left != 0 || a.Strangers != 0 {
		t.Errorf("audit: %+v; want nobody left and no strangers (the two inside are admins)", a)
	}
	if a.Admins != 2 {
		t.Errorf("audit counted %d admins, want 2 (the account that made the group is left out)", a.Admins)
	}
	v, err := h.store.FindMember(ctx, "mod")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Chats[0].InChat {
		t.Error("the linked admin is recorded as out after an audit")
	}
	for _, kind := range []gate.ActionKind{gate.ActionRemove, gate.ActionFlag} {
		if acts, err := h.store.ChatActions(ctx, "webmasters-pro", kind, models.ActionPending, 10); err != nil || len(acts) != 0 {
			t.Errorf("%s actions queued: %+v %v; want none", kind, acts, err)
		}
	}
}

// failingRenewals makes RenewUserbots fail while fail is set, as a
// database that went away would.
type failingRenewals struct {
	userbot.Accounts
	fail *atomic.Bool
}

func (f failingRenewals) RenewUserbots(ctx context.Context, owner string, ttl time.Duration) ([]int64, error) {
	if f.fail.Load() {
		return nil, errors.New("the database went away")
	}
	return f.Accounts.RenewUserbots(ctx, owner, ttl)
}

// TestPool_StopsWhenItCannotRenew: when the accounts' lease cannot be
// renewed, every client stops before the lease runs out (another instance
// may then take the account, and two clients on one session are what
// Telegram answers AUTH_KEY_DUPLICATED to, killing the session for good).
func TestPool_StopsWhenItCannotRenew(t *testing.T) {
	var fail atomic.Bool
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}},
		accounts: func(a userbot.Accounts) userbot.Accounts { return failingRenewals{Accounts: a, fail: &fail} }})
	alice := h.person("alice", "", world.PrivacyEverybody)
	h.login(alice, "")
	h.waitReady(1)
	if err := h.execute("create_group", "webmasters-pro"); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	failedAt := time.Now()
	const ttl = 3 * time.Second // the harness's LeaseTTL
	var stoppedAt time.Time
	for time.Since(failedAt) < 2*ttl {
		var retry *worker.RetryError
		if err := h.execute("audit", "webmasters-pro"); errors.As(err, &retry) {
			stoppedAt = time.Now()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if stoppedAt.IsZero() {
		t.Fatalf("the client still worked %s after its lease could no longer be renewed (lease %s)", 2*ttl, ttl)
	}
	if d := stoppedAt.Sub(failedAt); d >= ttl {
		t.Errorf("the client stopped %s after the renewals began to fail; want within the lease (%s)", d, ttl)
	}
	// Another instance takes the account once the lease ends and works
	// with it: the two clients never ran at once on the session (the
	// sandbox, like Telegram, would answer AUTH_KEY_DUPLICATED).
	h.o.accounts = nil // the other instance reaches the database
	other := h.newPool(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = other.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := other.WaitReady(wctx, 1); err != nil {
		t.Fatalf("the other instance never took the account: %v", err)
	}
	if _, err := other.AuditChat(ctx, "webmasters-pro"); err != nil {
		t.Fatalf("the other instance's audit: %v", err)
	}
	for _, c := range h.w.Calls() {
		if strings.Contains(c.Error, "AUTH_KEY_DUPLICATED") {
			t.Fatalf("two clients ran on one session: %s %s", c.Method, c.Error)
		}
	}
}

// TestPool_AuditWithNoAccount (issue 17 #9): with no userbot account
// logged in anywhere, an audit is not queued to wait for one ("1 audits
// queued" for a chat no account is in): it says at once that it cannot be
// made.
func TestPool_AuditWithNoAccount(t *testing.T) {
	h := newHarness(t, harnessOptions{noBot: true, limits: world.Limits{FloodWait: map[string]time.Duration{}}})
	owner := h.person("owner", "", world.PrivacyEverybody)
	ch, err := h.w.CreateSupergroup(owner.ID, "Webmasters Pro", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.BindChat(context.Background(), "webmasters-pro", ch.BotAPIID(), "test"); err != nil {
		t.Fatal(err)
	}
	_, err = h.pool.AuditChat(context.Background(), "webmasters-pro")
	if !errors.Is(err, worker.ErrCannotAudit) {
		t.Fatalf("AuditChat with no account: %v, want ErrCannotAudit", err)
	}
}
