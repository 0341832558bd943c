package mtproto_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_Unauthorized: before login, methods that need an account
// answer AUTH_KEY_UNREGISTERED (401); wrong app credentials API_ID_INVALID.
func TestServer_Unauthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	e.MustUser(world.UserSpec{FirstName: "Eve", Phone: "+15550000020"})
	err := e.Run(clientOptions{viaPEM: true}, func(ctx context.Context, c *telegram.Client) error {
		api := c.API()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"users.getUsers", func() error { _, err := api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}}); return err }},
			{"channels.createChannel", func() error {
				_, err := api.ChannelsCreateChannel(ctx, &tg.ChannelsCreateChannelRequest{Megagroup: true, Title: "x"})
				return err
			}},
			{"contacts.resolveUsername", func() error {
				_, err := api.ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: "someone"})
				return err
			}},
			{"updates.getState", func() error { _, err := api.UpdatesGetState(ctx); return err }},
			{"account.getPassword", func() error { _, err := api.AccountGetPassword(ctx); return err }},
		} {
			t.Run(tc.name, func(t *testing.T) { wantRPC(t, tc.call(), 401, "AUTH_KEY_UNREGISTERED") })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong api_hash", func(t *testing.T) {
		err := e.Run(clientOptions{appID: e.srv.AppID(), appHash: "0123456789abcdef0123456789abcdef"}, func(ctx context.Context, c *telegram.Client) error {
			return e.login(ctx, c, "+15550000020", "")
		})
		wantRPC(t, err, 400, "API_ID_INVALID")
	})
	t.Run("wrong code", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
			sent, err := c.Auth().SendCode(ctx, "+15550000020", authSendCodeOptions)
			if err != nil {
				return err
			}
			_, err = c.Auth().SignIn(ctx, "+15550000020", "00000", sent.(*tg.AuthSentCode).PhoneCodeHash)
			return err
		})
		wantRPC(t, err, 400, "PHONE_CODE_INVALID")
	})
}

// TestServer_AccessHash: a wrong access hash is refused like Telegram does.
func TestServer_AccessHash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000030"})
	frank := e.MustUser(world.UserSpec{FirstName: "Frank", Phone: "+15550000031"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		ch, err := createSupergroup(ctx, api, "Hashes")
		if err != nil {
			return err
		}
		badChannel := &tg.InputChannel{ChannelID: ch.ChannelID, AccessHash: ch.AccessHash + 1}
		badUser := &tg.InputUser{UserID: frank.ID, AccessHash: frank.AccessHash + 1}
		for _, tc := range []struct {
			name     string
			call     func() error
			code     int
			wantType string
		}{
			{"editAdmin wrong channel hash", func() error {
				_, err := api.ChannelsEditAdmin(ctx, &tg.ChannelsEditAdminRequest{Channel: badChannel, UserID: inputUser(frank), AdminRights: tg.ChatAdminRights{InviteUsers: true}})
				return err
			}, 400, "CHANNEL_INVALID"},
			{"getParticipants unknown channel", func() error {
				_, err := api.ChannelsGetParticipants(ctx, &tg.ChannelsGetParticipantsRequest{Channel: &tg.InputChannel{ChannelID: 42, AccessHash: 1}, Filter: &tg.ChannelParticipantsRecent{}, Limit: 10})
				return err
			}, 400, "CHANNEL_INVALID"},
			{"inviteToChannel wrong user hash", func() error {
				_, err := api.ChannelsInviteToChannel(ctx, &tg.ChannelsInviteToChannelRequest{Channel: ch, Users: []tg.InputUserClass{badUser}})
				return err
			}, 400, "USER_ID_INVALID"},
			{"getFullUser wrong user hash", func() error {
				_, err := api.UsersGetFullUser(ctx, badUser)
				return err
			}, 400, "USER_ID_INVALID"},
			{"editBanned wrong peer hash", func() error {
				_, err := api.ChannelsEditBanned(ctx, &tg.ChannelsEditBannedRequest{Channel: ch, Participant: &tg.InputPeerUser{UserID: frank.ID, AccessHash: 7}, BannedRights: tg.ChatBannedRights{ViewMessages: true}})
				return err
			}, 400, "PEER_ID_INVALID"},
		} {
			t.Run(tc.name, func(t *testing.T) { wantRPC(t, tc.call(), tc.code, tc.wantType) })
		}
		// The right hashes work.
		if _, err := api.UsersGetFullUser(ctx, inputUser(frank)); err != nil {
			t.Errorf("getFullUser with the right hash: %v", err)
		}
		return nil
	})
}

// TestServer_InviteToChannel: privacy, mutual contacts, bans and PEER_FLOOD.
func TestServer_InviteToChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{PeerFloodAfter: 3})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000040"})
	open := e.MustUser(world.UserSpec{FirstName: "Open", Privacy: world.PrivacyEverybody})
	nobody := e.MustUser(world.UserSpec{FirstName: "Nobody", Privacy: world.PrivacyNobody})
	contactsOnly := e.MustUser(world.UserSpec{FirstName: "Contacts", Privacy: world.PrivacyContacts})
	friend := e.MustUser(world.UserSpec{FirstName: "Friend", Privacy: world.PrivacyContacts})
	leaver := e.MustUser(world.UserSpec{FirstName: "Leaver"})
	banned := e.MustUser(world.UserSpec{FirstName: "Banned"})
	late := e.MustUser(world.UserSpec{FirstName: "Late"})
	if err := e.w.AddContact(owner.ID, friend.ID); err != nil {
		t.Fatal(err)
	}

	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		ch, err := createSupergroup(ctx, api, "Invites")
		if err != nil {
			return err
		}
		invite := func(users ...world.User) (*tg.MessagesInvitedUsers, error) {
			in := make([]tg.InputUserClass, len(users))
			for i, u := range users {
				in[i] = inputUser(u)
			}
			e.clock.Advance(time.Second) // inviteToChannel's flood interval
			return api.ChannelsInviteToChannel(ctx, &tg.ChannelsInviteToChannelRequest{Channel: ch, Users: in})
		}
		// Setup: leaver joins and leaves by themselves; banned is banned.
		if _, err := invite(leaver); err != nil {
			return err
		}
		if err := e.w.Leave(ch.ChannelID, leaver.ID); err != nil {
			return err
		}
		if _, err := api.ChannelsEditBanned(ctx, &tg.ChannelsEditBannedRequest{Channel: ch, Participant: &tg.InputPeerUser{UserID: banned.ID, AccessHash: banned.AccessHash}, BannedRights: tg.ChatBannedRights{ViewMessages: true}}); err != nil {
			return err
		}

		for _, tc := range []struct {
			name        string
			users       []world.User
			wantMissing []int64
			wantErr     string
			wantStatus  world.Status
		}{
			{"privacy everybody", []world.User{open}, nil, "", world.StatusMember},
			{"privacy nobody", []world.User{nobody}, []int64{nobody.ID}, "", world.StatusLeft},
			{"privacy contacts, not a contact", []world.User{contactsOnly}, []int64{contactsOnly.ID}, "", world.StatusLeft},
			{"privacy contacts, a contact", []world.User{friend}, nil, "", world.StatusMember},
			{"left by themselves, not mutual", []world.User{leaver}, nil, "USER_NOT_MUTUAL_CONTACT", world.StatusLeft},
			{"banned", []world.User{banned}, nil, "USER_KICKED", world.StatusKicked},
			// leaver, open and friend were 3 adds: the 4th is PEER_FLOOD.
			{"peer flood", []world.User{late}, nil, "PEER_FLOOD", world.StatusLeft},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := invite(tc.users...)
				if tc.wantErr != "" {
					wantRPC(t, err, 400, tc.wantErr)
				} else {
					if err != nil {
						t.Fatalf("invite: %v", err)
					}
					var missing []int64
					for _, m := range res.MissingInvitees {
						missing = append(missing, m.UserID)
					}
					if !equal(missing, tc.wantMissing) {
						t.Errorf("missing_invitees = %v, want %v", missing, tc.wantMissing)
					}
				}
				for _, u := range tc.users {
					if got := e.w.Member(ch.ChannelID, u.ID).Status; got != tc.wantStatus {
						t.Errorf("%s: status %s, want %s", u.FirstName, got, tc.wantStatus)
					}
				}
			})
		}
		t.Run("peer flood lifts after 24h", func(t *testing.T) {
			e.clock.Advance(25 * time.Hour)
			if _, err := invite(late); err != nil {
				t.Fatalf("invite after 24h: %v", err)
			}
		})
		return nil
	})
}

// TestServer_ChannelsTooMuch: the per-account cap, as help.getAppConfig
// announces it, and the flood wait on channels.createChannel.
func TestServer_ChannelsTooMuch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{ChannelsPerAccount: 2})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000050"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		cfg, err := api.HelpGetAppConfig(ctx, 0)
		if err != nil {
			return err
		}
		if got := appConfigNumber(cfg, "channels_limit_default"); got != 2 {
			t.Errorf("channels_limit_default = %v, want 2", got)
		}
		for i, want := range []string{"", "", "CHANNELS_TOO_MUCH"} {
			t.Run(fmt.Sprintf("create #%d", i+1), func(t *testing.T) {
				e.clock.Advance(10 * time.Second) // past createChannel's flood wait
				_, err := createSupergroup(ctx, api, "Group")
				if want == "" && err != nil {
					t.Fatalf("create: %v", err)
				}
				if want != "" {
					wantRPC(t, err, 400, want)
				}
			})
		}
		t.Run("flood wait", func(t *testing.T) {
			// No clock advance: channels.createChannel's interval is 5 s.
			_, err := createSupergroup(ctx, api, "Group")
			wantRPC(t, err, 420, "FLOOD_WAIT")
		})
		return nil
	})
}

// TestServer_FloodWait: per-method intervals answer FLOOD_WAIT_X with the
// seconds left, on the injected clock.
func TestServer_FloodWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000060"})
	e.MustUser(world.UserSpec{FirstName: "Gina", Phone: "+15550000061"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		resolve := func() error {
			_, err := api.ContactsResolvePhone(ctx, "+15550000061")
			return err
		}
		for _, tc := range []struct {
			name    string
			advance time.Duration
			wait    time.Duration // 0: succeeds
		}{
			{"first call", 0, 0},
			{"at once", 0, 3 * time.Second},
			{"1s later", time.Second, 2 * time.Second},
			{"2.5s later", 1500 * time.Millisecond, time.Second},
			{"3s later", 500 * time.Millisecond, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.clock.Advance(tc.advance)
				err := resolve()
				if tc.wait == 0 {
					if err != nil {
						t.Fatalf("resolvePhone: %v", err)
					}
					return
				}
				d, ok := tgerr.AsFloodWait(err)
				if !ok || d != tc.wait {
					t.Fatalf("got %v, want FLOOD_WAIT of %s", err, tc.wait)
				}
				wantRPC(t, err, 420, "FLOOD_WAIT")
			})
		}
		return nil
	})
}

// TestServer_GetParticipants pages and filters the member list.
func TestServer_GetParticipants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000070"})
	var people []world.User
	for _, name := range []string{"Ann", "Ben", "Cid", "Dan", "Eva"} {
		people = append(people, e.MustUser(world.UserSpec{FirstName: name}))
	}
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		ch, err := createSupergroup(ctx, api, "Paging")
		if err != nil {
			return err
		}
		in := make([]tg.InputUserClass, len(people))
		for i, u := range people {
			in[i] = inputUser(u)
		}
		if _, err := api.ChannelsInviteToChannel(ctx, &tg.ChannelsInviteToChannelRequest{Channel: ch, Users: in}); err != nil {
			return err
		}
		if _, err := api.ChannelsEditAdmin(ctx, &tg.ChannelsEditAdminRequest{Channel: ch, UserID: inputUser(people[0]), AdminRights: tg.ChatAdminRights{InviteUsers: true}}); err != nil {
			return err
		}
		if _, err := api.ChannelsEditBanned(ctx, &tg.ChannelsEditBannedRequest{Channel: ch, Participant: &tg.InputPeerUser{UserID: people[4].ID, AccessHash: people[4].AccessHash}, BannedRights: tg.ChatBannedRights{ViewMessages: true}}); err != nil {
			return err
		}
		get := func(filter tg.ChannelParticipantsFilterClass, offset, limit int) ([]int64, int) {
			t.Helper()
			res, err := api.ChannelsGetParticipants(ctx, &tg.ChannelsGetParticipantsRequest{Channel: ch, Filter: filter, Offset: offset, Limit: limit})
			if err != nil {
				t.Fatalf("getParticipants: %v", err)
			}
			p := res.(*tg.ChannelsChannelParticipants)
			var ids []int64
			for _, part := range p.Participants {
				ids = append(ids, participantID(part))
			}
			return ids, p.Count
		}
		members := []int64{owner.ID, people[0].ID, people[1].ID, people[2].ID, people[3].ID}
		for _, tc := range []struct {
			name          string
			filter        tg.ChannelParticipantsFilterClass
			offset, limit int
			want          []int64
			wantCount     int
		}{
			{"recent page 1", &tg.ChannelParticipantsRecent{}, 0, 2, members[:2], 5},
			{"recent page 2", &tg.ChannelParticipantsRecent{}, 2, 2, members[2:4], 5},
			{"recent page 3", &tg.ChannelParticipantsRecent{}, 4, 2, members[4:], 5},
			{"recent past the end", &tg.ChannelParticipantsRecent{}, 10, 2, nil, 5},
			{"admins", &tg.ChannelParticipantsAdmins{}, 0, 100, []int64{owner.ID, people[0].ID}, 2},
			{"kicked", &tg.ChannelParticipantsKicked{}, 0, 100, []int64{people[4].ID}, 1},
			{"search", &tg.ChannelParticipantsSearch{Q: "ci"}, 0, 100, []int64{people[2].ID}, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ids, count := get(tc.filter, tc.offset, tc.limit)
				if !equal(ids, tc.want) || count != tc.wantCount {
					t.Errorf("got %v (count %d), want %v (count %d)", ids, count, tc.want, tc.wantCount)
				}
			})
		}
		return nil
	})
}

func participantID(p tg.ChannelParticipantClass) int64 {
	switch p := p.(type) {
	case *tg.ChannelParticipant:
		return p.UserID
	case *tg.ChannelParticipantSelf:
		return p.UserID
	case *tg.ChannelParticipantCreator:
		return p.UserID
	case *tg.ChannelParticipantAdmin:
		return p.UserID
	case *tg.ChannelParticipantBanned:
		return p.Peer.(*tg.PeerUser).UserID
	case *tg.ChannelParticipantLeft:
		return p.Peer.(*tg.PeerUser).UserID
	}
	return 0
}

func appConfigNumber(cfg tg.HelpAppConfigClass, key string) float64 {
	c, ok := cfg.(*tg.HelpAppConfig)
	if !ok {
		return -1
	}
	obj, ok := c.Config.(*tg.JSONObject)
	if !ok {
		return -1
	}
	for _, v := range obj.Value {
		if n, ok := v.Value.(*tg.JSONNumber); ok && v.Key == key {
			return n.Value
		}
	}
	return -1
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServer_FloodWaitOptions: Options.FloodWait replaces the world's
// intervals for this server.
func TestServer_FloodWaitOptions(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, world.Limits{}, mtproto.Options{FloodWait: map[string]time.Duration{"channels.inviteToChannel": 10 * time.Second}})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000150"})
	a := e.MustUser(world.UserSpec{FirstName: "Ann"})
	b := e.MustUser(world.UserSpec{FirstName: "Ben"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		ch, err := createSupergroup(ctx, api, "Paced")
		if err != nil {
			return err
		}
		invite := func(u world.User) error {
			_, err := api.ChannelsInviteToChannel(ctx, &tg.ChannelsInviteToChannelRequest{Channel: ch, Users: []tg.InputUserClass{inputUser(u)}})
			return err
		}
		t.Run("first", func(t *testing.T) {
			if err := invite(a); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("at once", func(t *testing.T) {
			err := invite(b)
			if d, ok := tgerr.AsFloodWait(err); !ok || d != 10*time.Second {
				t.Fatalf("got %v, want FLOOD_WAIT_10", err)
			}
		})
		t.Run("world's intervals are off", func(t *testing.T) {
			// channels.createChannel has 5 s in the world's defaults.
			if _, err := createSupergroup(ctx, api, "Again"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("10s later", func(t *testing.T) {
			e.clock.Advance(10 * time.Second)
			if err := invite(b); err != nil {
				t.Fatal(err)
			}
		})
		return nil
	})
}

// TestServer_CreateChannelDailyQuota: beyond Limits.SupergroupsPerDay
// creations in 24 hours, channels.createChannel is FLOOD_WAIT_X until the
// oldest creation leaves the window (Telegram has no error of its own for
// the daily quota; CHANNELS_TOO_MUCH is the 500-chat cap).
func TestServer_CreateChannelDailyQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{SupergroupsPerDay: 2})
	owner := e.MustUser(world.UserSpec{FirstName: "Maker", Phone: "+15550000090"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		for _, tc := range []struct {
			name    string
			advance time.Duration
			wait    time.Duration // 0: succeeds
		}{
			{"first", 0, 0},
			{"second, an hour later", time.Hour, 0},
			{"third, an hour later", time.Hour, 22 * time.Hour},
			{"a day after the first", 22 * time.Hour, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.clock.Advance(tc.advance)
				_, err := createSupergroup(ctx, api, "Daily")
				if tc.wait == 0 {
					if err != nil {
						t.Fatalf("createChannel: %v", err)
					}
					return
				}
				if d, ok := tgerr.AsFloodWait(err); !ok || d != tc.wait {
					t.Fatalf("got %v, want FLOOD_WAIT of %s", err, tc.wait)
				}
			})
		}
		return nil
	})
}
