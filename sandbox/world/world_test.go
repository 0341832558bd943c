package world_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

func newWorld(t *testing.T, limits world.Limits) (*world.World, *sandboxtest.Clock) {
	t.Helper()
	c := new(sandboxtest.Clock) // 2026-11-25 10:00 UTC
	return world.New(world.Options{Seed: 1, Now: c.Now, Limits: limits}), c
}

func mustUser(t *testing.T, w *world.World, spec world.UserSpec) world.User {
	t.Helper()
	u, err := w.CreateUser(spec)
	if err != nil {
		t.Fatalf("CreateUser(%+v): %v", spec, err)
	}
	return u
}

func mustGroup(t *testing.T, w *world.World, creator int64) world.Chat {
	t.Helper()
	c, err := w.CreateSupergroup(creator, "Webmasters Pro", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIDs(t *testing.T) {
	for _, ch := range []int64{1, 1800000001, 999999999999} {
		id := world.BotAPIChatID(ch)
		back, ok := world.ChannelID(id)
		if !ok || back != ch {
			t.Errorf("ChannelID(BotAPIChatID(%d)) = %d, %v", ch, back, ok)
		}
	}
	if world.BotAPIChatID(1800000001) != -1001800000001 {
		t.Errorf("BotAPIChatID = %d", world.BotAPIChatID(1800000001))
	}
	for _, id := range []int64{4101, -4101, -1000000000000, 0} {
		if _, ok := world.ChannelID(id); ok {
			t.Errorf("ChannelID(%d) ok, want not a supergroup", id)
		}
	}
}

func TestWorld_CreateUser(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	mustUser(t, w, world.UserSpec{FirstName: "Alice", Username: "alice_tg", Phone: "+1 555 0001"})
	tests := []struct {
		name string
		spec world.UserSpec
		want error
	}{
		{"ok", world.UserSpec{FirstName: "Bob", Username: "bob_tg", Phone: "+15550002"}, nil},
		{"no first name", world.UserSpec{}, world.ErrFirstNameInvalid},
		{"username too short", world.UserSpec{FirstName: "C", Username: "abcd"}, world.ErrUsernameInvalid},
		{"username starts with a digit", world.UserSpec{FirstName: "C", Username: "1abcde"}, world.ErrUsernameInvalid},
		{"username taken, other case", world.UserSpec{FirstName: "C", Username: "ALICE_tg"}, world.ErrUsernameOccupied},
		{"phone taken, other notation", world.UserSpec{FirstName: "C", Phone: "15550001"}, world.ErrPhoneNumberOccupied},
		{"phone not E.164", world.UserSpec{FirstName: "C", Phone: "12ab"}, world.ErrPhoneNumberInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.CreateUser(tt.spec)
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if u, ok := w.UserByPhone("+1 (555) 0001"); !ok || u.Username != "alice_tg" {
		t.Errorf("UserByPhone = %+v, %v", u, ok)
	}
	if u, ok := w.UserByUsername("@Alice_TG"); !ok || u.Phone != "15550001" {
		t.Errorf("UserByUsername = %+v, %v", u, ok)
	}
}

func TestWorld_CreateBot(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	b, token, err := w.CreateBot("karma_test_bot", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d:", b.ID); len(token) != len(want)+35 || token[:len(want)] != want {
		t.Errorf("token %q, want <id>:<35 chars>", token)
	}
	if got, ok := w.BotByToken(token); !ok || got.ID != b.ID || !got.IsBot {
		t.Errorf("BotByToken = %+v, %v", got, ok)
	}
	if _, _, err := w.CreateBot("not_a_b0t_name", ""); !errors.Is(err, world.ErrUsernameInvalid) {
		t.Errorf("bot username without 'bot': %v", err)
	}
}

func TestWorld_CreateSupergroup(t *testing.T) {
	w, _ := newWorld(t, world.Limits{ChannelsPerAccount: 2})
	u := mustUser(t, w, world.UserSpec{FirstName: "Userbot"})
	for i := 0; i < 2; i++ {
		mustGroup(t, w, u.ID)
	}
	if _, err := w.CreateSupergroup(u.ID, "Third", ""); !errors.Is(err, world.ErrChannelsTooMuch) {
		t.Errorf("third group: %v, want CHANNELS_TOO_MUCH", err)
	}
	if _, err := w.CreateSupergroup(u.ID, "  ", ""); !errors.Is(err, world.ErrChatTitleEmpty) {
		t.Errorf("empty title: %v", err)
	}
	chats := w.Chats()
	if len(chats) != 2 || chats[0].MembersCount != 1 || chats[0].CreatorID != u.ID {
		t.Errorf("Chats() = %+v", chats)
	}
	if m := w.Member(chats[0].ID, u.ID); m.Status != world.StatusCreator || !m.Rights.CanInviteUsers {
		t.Errorf("creator membership = %+v", m)
	}
}

func TestWorld_AddMembers(t *testing.T) {
	w, _ := newWorld(t, world.Limits{PeerFloodAfter: 3, MaxInvitePerCall: 5})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Userbot"})
	c := mustGroup(t, w, owner.ID)
	open := mustUser(t, w, world.UserSpec{FirstName: "Open"})
	nobody := mustUser(t, w, world.UserSpec{FirstName: "Nobody", Privacy: world.PrivacyNobody})
	contactsOnly := mustUser(t, w, world.UserSpec{FirstName: "Contacts", Privacy: world.PrivacyContacts})
	friend := mustUser(t, w, world.UserSpec{FirstName: "Friend", Privacy: world.PrivacyContacts})
	w.AddContact(friend.ID, owner.ID)
	leaver := mustUser(t, w, world.UserSpec{FirstName: "Leaver"})
	banned := mustUser(t, w, world.UserSpec{FirstName: "Banned"})
	w.Ban(c.ID, owner.ID, banned.ID, time.Time{})

	added, missing, err := w.AddMembers(c.ID, owner.ID, []int64{open.ID, nobody.ID, contactsOnly.ID, friend.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []int64{open.ID, friend.ID}) {
		t.Errorf("added %v, want open and friend", added)
	}
	want := []world.MissingInvitee{{UserID: nobody.ID, Reason: "USER_PRIVACY_RESTRICTED"}, {UserID: contactsOnly.ID, Reason: "USER_PRIVACY_RESTRICTED"}}
	if !slices.Equal(missing, want) {
		t.Errorf("missing %v, want %v", missing, want)
	}

	tests := []struct {
		name    string
		setup   func()
		users   []int64
		wantErr error
		missing string
	}{
		{name: "banned user", users: []int64{banned.ID}, wantErr: world.ErrUserKicked},
		{name: "too many at once", users: []int64{1, 2, 3, 4, 5, 6}, wantErr: world.ErrUsersTooMuch},
		{name: "left by themselves, not a mutual contact", setup: func() {
			w.AddMembers(c.ID, owner.ID, []int64{leaver.ID})
			w.Leave(c.ID, leaver.ID)
		}, users: []int64{leaver.ID}, missing: "USER_NOT_MUTUAL_CONTACT"},
		{name: "peer flood after 3 adds", users: []int64{mustUser(t, w, world.UserSpec{FirstName: "Late"}).ID}, wantErr: world.ErrPeerFlood},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			_, missing, err := w.AddMembers(c.ID, owner.ID, tt.users)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(missing) != 1 || missing[0].Reason != tt.missing {
				t.Errorf("missing %v, err %v; want %s", missing, err, tt.missing)
			}
		})
	}
}

func TestWorld_AddMembers_PeerFloodWindow(t *testing.T) {
	w, clk := newWorld(t, world.Limits{PeerFloodAfter: 1})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Userbot"})
	c := mustGroup(t, w, owner.ID)
	a, b := mustUser(t, w, world.UserSpec{FirstName: "A"}), mustUser(t, w, world.UserSpec{FirstName: "B"})
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{a.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{b.ID}); !errors.Is(err, world.ErrPeerFlood) {
		t.Fatalf("second add: %v, want PEER_FLOOD", err)
	}
	clk.Advance(24 * time.Hour)
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{b.ID}); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

func TestWorld_UserChannelsTooMuch(t *testing.T) {
	w, _ := newWorld(t, world.Limits{ChannelsPerAccount: 1})
	o1 := mustUser(t, w, world.UserSpec{FirstName: "O1"})
	o2 := mustUser(t, w, world.UserSpec{FirstName: "O2"})
	c1, c2 := mustGroup(t, w, o1.ID), mustGroup(t, w, o2.ID)
	u := mustUser(t, w, world.UserSpec{FirstName: "Busy"})
	if _, _, err := w.AddMembers(c1.ID, o1.ID, []int64{u.ID}); err != nil {
		t.Fatal(err)
	}
	_, missing, err := w.AddMembers(c2.ID, o2.ID, []int64{u.ID})
	if err != nil || len(missing) != 1 || missing[0].Reason != "USER_CHANNELS_TOO_MUCH" {
		t.Errorf("missing %v err %v", missing, err)
	}
	l, _ := w.CreateInviteLink(c2.ID, o2.ID, world.InviteLinkSpec{})
	if res, _ := w.JoinByLink(u.ID, l.Link); res.Reason != "CHANNELS_TOO_MUCH" {
		t.Errorf("join = %+v", res)
	}
}

func TestWorld_PromoteAdmin(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	bot, _, _ := w.CreateBot("gate_keeper_bot", "")
	person := mustUser(t, w, world.UserSpec{FirstName: "Stranger"})
	member := mustUser(t, w, world.UserSpec{FirstName: "Member"})
	w.AddMembers(c.ID, owner.ID, []int64{member.ID})
	rights := world.AdminRights{CanInviteUsers: true, CanRestrictMembers: true}
	tests := []struct {
		name          string
		actor, target int64
		rights        world.AdminRights
		want          error
		status        world.Status
	}{
		{"creator adds a bot by promoting it", owner.ID, bot.ID, rights, nil, world.StatusAdministrator},
		{"people must be members first", owner.ID, person.ID, rights, world.ErrUserNotParticipant, world.StatusLeft},
		{"an admin without can_promote_members", bot.ID, member.ID, rights, world.ErrNotEnoughRights, world.StatusMember},
		{"nobody demotes the creator", owner.ID, owner.ID, world.AdminRights{}, world.ErrCantDemoteCreator, world.StatusCreator},
		{"no rights demotes", owner.ID, bot.ID, world.AdminRights{}, nil, world.StatusMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.PromoteAdmin(c.ID, tt.actor, tt.target, tt.rights, "")
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if st := w.Member(c.ID, tt.target).Status; st != tt.status {
				t.Errorf("status %s, want %s", st, tt.status)
			}
		})
	}
}

func TestWorld_Ban(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	u := mustUser(t, w, world.UserSpec{FirstName: "U"})
	tests := []struct {
		name      string
		until     time.Duration
		forever   bool
		afterHour world.Status
	}{
		{"20 seconds means forever", 20 * time.Second, true, world.StatusKicked},
		{"400 days means forever", 400 * 24 * time.Hour, true, world.StatusKicked},
		{"one hour lapses", time.Hour, false, world.StatusLeft},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.Ban(c.ID, owner.ID, u.ID, clk.Now().Add(tt.until)); err != nil {
				t.Fatal(err)
			}
			m := w.Member(c.ID, u.ID)
			if m.Status != world.StatusKicked || m.UntilDate.IsZero() != tt.forever {
				t.Errorf("member = %s until %v", m.Status, m.UntilDate)
			}
			clk.Advance(time.Hour)
			if st := w.Member(c.ID, u.ID).Status; st != tt.afterHour {
				t.Errorf("after an hour %s, want %s", st, tt.afterHour)
			}
			w.Unban(c.ID, owner.ID, u.ID, true)
		})
	}
}

func TestWorld_SendMessage(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	bot, _, _ := w.CreateBot("gate_keeper_bot", "")
	w.PromoteAdmin(c.ID, owner.ID, bot.ID, world.AdminRights{CanInviteUsers: true}, "")
	l, _ := w.CreateInviteLink(c.ID, bot.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	starter := mustUser(t, w, world.UserSpec{FirstName: "Starter"})
	requester := mustUser(t, w, world.UserSpec{FirstName: "Requester"})
	stranger := mustUser(t, w, world.UserSpec{FirstName: "Stranger"})
	blocker := mustUser(t, w, world.UserSpec{FirstName: "Blocker"})
	member := mustUser(t, w, world.UserSpec{FirstName: "Member"})
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{member.ID}); err != nil {
		t.Fatal(err)
	}
	w.SendMessage(starter.ID, bot.ID, "/start", world.SendOptions{})
	w.SendMessage(blocker.ID, bot.ID, "/start", world.SendOptions{})
	w.BlockBot(blocker.ID, bot.ID, true)
	w.JoinByLink(requester.ID, l.Link)

	tests := []struct {
		name  string
		to    int64
		after time.Duration
		want  error
	}{
		{"started the bot", starter.ID, 0, nil},
		{"asked to join, within 5 minutes", requester.ID, 0, nil},
		{"never seen", stranger.ID, 0, world.ErrChatNotFound},
		{"seen in the bot's group, never started it", member.ID, 0, world.ErrCantInitiate},
		{"blocked the bot", blocker.ID, 0, world.ErrBotBlocked},
		{"asked to join, 6 minutes ago", requester.ID, 6 * time.Minute, world.ErrCantInitiate},
		{"unknown chat", 999, 0, world.ErrChatNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.after + time.Second)
			_, err := w.SendMessage(bot.ID, tt.to, "hello", world.SendOptions{})
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if got := w.Messages(starter.ID); len(got) != 1 || got[0].Text != "hello" || got[0].FromID != bot.ID {
		t.Errorf("Messages(starter) = %+v", got)
	}
}

func TestWorld_SignIn(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	u := mustUser(t, w, world.UserSpec{FirstName: "Userbot", Phone: "+15550009", Password: "hunter2"})
	hash, err := w.SendCode("+1 555 0009")
	if err != nil {
		t.Fatal(err)
	}
	code, ok := w.LastCode("15550009")
	if !ok || len(code) != 5 {
		t.Fatalf("LastCode = %q, %v", code, ok)
	}
	wrong := "00000"
	if code == wrong {
		wrong = "11111"
	}
	otherHash, _ := w.SendCode("+15550077")
	otherCode, _ := w.LastCode("+15550077")
	tests := []struct {
		name              string
		phone, hash, code string
		advance           time.Duration
		want              error
	}{
		{"wrong code", "+15550009", hash, wrong, 0, world.ErrPhoneCodeInvalid},
		{"wrong hash", "+15550009", "nope", code, 0, world.ErrPhoneCodeExpired},
		{"no account", "+15550077", otherHash, otherCode, 0, world.ErrPhoneNumberUnoccupied},
		{"right code", "+15550009", hash, code, 0, nil},
		{"used code", "+15550009", hash, code, 0, world.ErrPhoneCodeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			got, err := w.SignIn(tt.phone, tt.hash, tt.code)
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if err == nil && got.ID != u.ID {
				t.Errorf("signed in as %d", got.ID)
			}
		})
	}
	t.Run("expired code", func(t *testing.T) {
		hash, _ := w.SendCode("+15550009")
		code, _ := w.LastCode("+15550009")
		clk.Advance(6 * time.Minute)
		if _, err := w.SignIn("+15550009", hash, code); !errors.Is(err, world.ErrPhoneCodeExpired) {
			t.Errorf("err = %v", err)
		}
	})
	if w.Password(u.ID) != "hunter2" {
		t.Error("password lost")
	}
}

func TestWorld_ImportContacts(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Userbot"})
	a := mustUser(t, w, world.UserSpec{FirstName: "A", Phone: "+15550001"})
	mustUser(t, w, world.UserSpec{FirstName: "Hidden", Phone: "+15550002", Privacy: world.PrivacyNobody})
	got, retry, err := w.ImportContacts(owner.ID, []string{"+15550001", "+15550002", "+15550003", "garbage"})
	if err != nil || len(retry) != 0 || len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("ImportContacts = %v, %v, %v", got, retry, err)
	}
	if !w.IsContact(owner.ID, a.ID) || w.IsContact(a.ID, owner.ID) {
		t.Error("import should add one way")
	}
}

func TestWorld_Subscribe(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	var mu sync.Mutex
	var got []string
	cancel := w.Subscribe(func(ev world.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case world.ChatCreated:
			got = append(got, "created")
		case world.MemberChanged:
			got = append(got, fmt.Sprintf("member %s→%s", e.Old.Status, e.New.Status))
		case world.JoinRequested:
			got = append(got, "requested")
		case world.JoinRequestResolved:
			got = append(got, fmt.Sprintf("resolved %v", e.Approved))
		case world.MessageSent:
			got = append(got, "message "+e.Message.Text)
		}
	})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	u := mustUser(t, w, world.UserSpec{FirstName: "U"})
	l, _ := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	w.JoinByLink(u.ID, l.Link)
	w.ApproveJoinRequest(c.ID, owner.ID, u.ID)
	w.SendMessage(u.ID, c.BotAPIID(), "hi all", world.SendOptions{})
	cancel()
	w.Leave(c.ID, u.ID)
	want := []string{"created", "member left→creator", "requested", "resolved true", "member left→member", "message hi all"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestWorld_Fault(t *testing.T) {
	draw := func(seed int64) []string {
		w, _ := newWorld(t, world.Limits{})
		w.SetFaults(world.Faults{Rate: 0.3, Seed: seed})
		var out []string
		for range 50 {
			out = append(out, w.Fault())
		}
		return out
	}
	a, b, c := draw(5), draw(5), draw(6)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same faults")
	}
	n := 0
	for _, f := range a {
		if f != "" {
			n++
		}
	}
	if n < 5 || n > 25 {
		t.Errorf("%d faults in 50 at rate 0.3", n)
	}
}

func TestWorld_FloodWait(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	if d := w.FloodWait("contacts.resolvePhone", 1); d != 0 {
		t.Fatalf("first call waits %s", d)
	}
	if d := w.FloodWait("contacts.resolvePhone", 1); d != 3*time.Second {
		t.Errorf("second call waits %s, want 3s", d)
	}
	if d := w.FloodWait("contacts.resolvePhone", 2); d != 0 {
		t.Errorf("another account waits %s", d)
	}
	clk.Advance(3 * time.Second)
	if d := w.FloodWait("contacts.resolvePhone", 1); d != 0 {
		t.Errorf("after the wait: %s", d)
	}
}

// TestWorld_Concurrent hammers the world from many goroutines (run -race).
func TestWorld_Concurrent(t *testing.T) {
	w, _ := newWorld(t, world.Limits{PeerFloodAfter: 10000})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	l, _ := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{})
	w.Subscribe(func(world.Event) { w.Chats() })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := w.CreateUser(world.UserSpec{FirstName: fmt.Sprint("U", i)})
			if err != nil {
				t.Error(err)
				return
			}
			w.JoinByLink(u.ID, l.Link)
			w.Members(c.ID)
			w.Leave(c.ID, u.ID)
			w.AddMembers(c.ID, owner.ID, []int64{u.ID}) // refused: left by themselves
			w.JoinByLink(u.ID, l.Link)
		}()
	}
	wg.Wait()
	if n := len(w.Members(c.ID)); n != 21 {
		t.Errorf("%d members, want 21", n)
	}
}

func TestWorld_Participants(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	l, _ := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{})
	var ids []int64
	for i := range 450 {
		u := mustUser(t, w, world.UserSpec{FirstName: fmt.Sprint("U", i)})
		w.JoinByLink(u.ID, l.Link)
		ids = append(ids, u.ID)
	}
	w.Leave(c.ID, ids[0])
	w.Ban(c.ID, owner.ID, ids[1], time.Time{})
	var got []int64
	for offset := 0; ; offset += 200 {
		page, total := w.Participants(c.ID, offset, 200)
		if total != 449 {
			t.Fatalf("total %d, want 449", total)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, m.User.ID)
		}
	}
	want := append([]int64{owner.ID}, ids[2:]...)
	if !slices.Equal(got, want) {
		t.Errorf("paged %d ids, want %d in join order", len(got), len(want))
	}
	if ch, _ := w.Chat(c.ID); ch.MembersCount != 449 {
		t.Errorf("MembersCount %d", ch.MembersCount)
	}
	if il, _ := w.InviteLink(l.Link); il.Members != 448 {
		t.Errorf("link members %d, want 448", il.Members)
	}
}

// BenchmarkWorld_JoinByLink: joining stays cheap as a chat grows.
func BenchmarkWorld_JoinByLink(b *testing.B) {
	w := world.New(world.Options{Seed: 1})
	owner, _ := w.CreateUser(world.UserSpec{FirstName: "Owner"})
	c, _ := w.CreateSupergroup(owner.ID, "Big", "")
	l, _ := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{})
	for b.Loop() {
		u, _ := w.CreateUser(world.UserSpec{FirstName: "U"})
		w.JoinByLink(u.ID, l.Link)
	}
}

func TestError_Is(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same sentinel", world.ErrPeerFlood, world.ErrPeerFlood, true},
		{"fresh error of the same type", world.BadRequest("PEER_FLOOD", ""), world.ErrPeerFlood, true},
		{"sentinels sharing a type", world.ErrBotBlocked, world.ErrCantInitiate, false},
		{"other type", world.ErrUserKicked, world.ErrPeerFlood, false},
		{"wrapped", fmt.Errorf("add: %w", world.ErrUsersTooMuch), world.ErrUsersTooMuch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is = %v, want %v", got, tt.want)
			}
		})
	}
	e := world.TooManyRequests(1500 * time.Millisecond)
	if e.Code != 429 || e.RetryAfterSeconds() != 2 || e.Description != "Too Many Requests: retry after 2" || e.MTProtoCode() != 420 {
		t.Errorf("TooManyRequests = %+v", e)
	}
}
