package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

func TestUserbots_Login(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		ub := f.store.Userbots()
		t.Run("seal failure stores nothing", func(t *testing.T) {
			_, err := ub.CreateUserbot(ctx, "+15550001", t0.Add(time.Hour), func(int64) ([]byte, []byte, error) { return nil, nil, errors.New("boom") })
			if err == nil {
				t.Fatal("want the seal error")
			}
			rows, err := ub.ListUserbots(ctx)
			if err != nil || len(rows) != 0 {
				t.Fatalf("rows after a failed create: %v %v", rows, err)
			}
		})
		var id1, id2 int64
		t.Run("create and ready", func(t *testing.T) {
			row, err := ub.CreateUserbot(ctx, "+15550001", t0.Add(time.Hour), func(id int64) ([]byte, []byte, error) {
				return []byte{byte(id)}, []byte("login"), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			id1 = row.ID
			got, err := ub.Userbot(ctx, id1)
			if err != nil || got.State != models.UserbotCodeSent || string(got.Login) != "login" || got.Session[0] != byte(id1) {
				t.Fatalf("stored login: %+v %v", got, err)
			}
			if err := ub.SetReady(ctx, id1, models.TelegramAccount{ID: 777, Username: "acc"}, []byte("sess"), "test"); err != nil {
				t.Fatal(err)
			}
			got, err = ub.Userbot(ctx, id1)
			if err != nil || got.State != models.UserbotReady || got.Login != nil || string(got.Session) != "sess" || *got.TgUserID != 777 {
				t.Fatalf("ready: %+v %v", got, err)
			}
		})
		t.Run("same Telegram account twice", func(t *testing.T) {
			row, err := ub.CreateUserbot(ctx, "+15550001", t0.Add(time.Hour), func(int64) ([]byte, []byte, error) { return nil, nil, nil })
			if err != nil {
				t.Fatal(err)
			}
			err = ub.SetReady(ctx, row.ID, models.TelegramAccount{ID: 777}, []byte("s2"), "test")
			if !errors.Is(err, models.ErrUserbotExists) {
				t.Fatalf("got %v, want ErrUserbotExists", err)
			}
			if _, err := ub.Userbot(ctx, row.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("the duplicate login's row stays: %v", err)
			}
		})
		t.Run("leases", func(t *testing.T) {
			row, err := ub.CreateUserbot(ctx, "+15550002", t0.Add(time.Hour), func(int64) ([]byte, []byte, error) { return nil, nil, nil })
			if err != nil {
				t.Fatal(err)
			}
			id2 = row.ID
			if ok, err := ub.AcquireUserbot(ctx, id2, "a", time.Minute); err != nil || ok {
				t.Fatalf("leased an account not ready: %v %v", ok, err)
			}
			if err := ub.SetReady(ctx, id2, models.TelegramAccount{ID: 778}, []byte("s"), "test"); err != nil {
				t.Fatal(err)
			}
			if ok, err := ub.AcquireUserbot(ctx, id1, "a", time.Minute); err != nil || !ok {
				t.Fatalf("a: %v %v", ok, err)
			}
			if ok, err := ub.AcquireUserbot(ctx, id1, "b", time.Minute); err != nil || ok {
				t.Fatalf("b took a held lease: %v %v", ok, err)
			}
			if ok, err := ub.AcquireUserbot(ctx, id2, "b", time.Minute); err != nil || !ok {
				t.Fatalf("b on the free account: %v %v", ok, err)
			}
			f.clock.Advance(2 * time.Minute)
			if ok, err := ub.AcquireUserbot(ctx, id1, "b", time.Minute); err != nil || !ok {
				t.Fatalf("b after a's lease ran out: %v %v", ok, err)
			}
			held, err := ub.RenewUserbots(ctx, "a", time.Minute)
			if err != nil || len(held) != 0 {
				t.Fatalf("a still holds %v (%v)", held, err)
			}
			held, err = ub.RenewUserbots(ctx, "b", time.Minute)
			if err != nil || len(held) != 2 {
				t.Fatalf("b holds %v (%v), want both", held, err)
			}
			if err := ub.ReleaseUserbot(ctx, "b", 0); err != nil {
				t.Fatal(err)
			}
			if ok, err := ub.AcquireUserbot(ctx, id1, "a", time.Minute); err != nil || !ok {
				t.Fatalf("a after b released: %v %v", ok, err)
			}
		})
		t.Run("lost", func(t *testing.T) {
			if err := ub.SetUserbotLost(ctx, id2, models.UserbotFrozen, "FROZEN_METHOD_INVALID", "test"); err != nil {
				t.Fatal(err)
			}
			got, err := ub.Userbot(ctx, id2)
			if err != nil || got.State != models.UserbotFrozen || got.LeaseOwner != nil {
				t.Fatalf("lost: %+v %v", got, err)
			}
			evs, err := f.store.Events(ctx, models.EventFilter{Kind: models.EventUserbotLost})
			if err != nil || len(evs) != 1 {
				t.Fatalf("events: %v %v", evs, err)
			}
		})
		t.Run("waits peers groups", func(t *testing.T) {
			if err := ub.SetWait(ctx, id1, "channels.createChannel", f.clock.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := ub.SetWait(ctx, id1, "channels.createChannel", f.clock.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			ws, err := ub.Waits(ctx, id1)
			if err != nil || len(ws) != 1 || !ws[0].Until.Equal(f.clock.Now().Add(2*time.Hour)) {
				t.Fatalf("waits: %+v %v", ws, err)
			}
			peers := []models.UserbotPeer{{UserbotID: id1, Kind: models.PeerChannel, PeerID: 5, AccessHash: 55}, {UserbotID: id1, Kind: models.PeerUser, PeerID: 9, AccessHash: 99}}
			if err := ub.SavePeers(ctx, peers); err != nil {
				t.Fatal(err)
			}
			if err := ub.SavePeers(ctx, []models.UserbotPeer{{UserbotID: id1, Kind: models.PeerChannel, PeerID: 5, AccessHash: 56}}); err != nil {
				t.Fatal(err)
			}
			p, err := ub.Peer(ctx, id1, models.PeerChannel, 5)
			if err != nil || p.AccessHash != 56 {
				t.Fatalf("peer: %+v %v", p, err)
			}
			hs, err := ub.PeerHolders(ctx, models.PeerChannel, 5)
			if err != nil || len(hs) != 1 || hs[0].UserbotID != id1 {
				t.Fatalf("holders: %+v %v", hs, err)
			}
			g, err := ub.BeginGroup(ctx, id1, "webmasters-pro", "Webmasters Pro")
			if err != nil {
				t.Fatal(err)
			}
			if err := ub.FinishGroup(ctx, g.ID, 5, 56); err != nil {
				t.Fatal(err)
			}
			n, err := ub.CreatedSince(ctx, f.clock.Now().Add(-24*time.Hour))
			if err != nil || n[id1] != 1 {
				t.Fatalf("created: %v %v", n, err)
			}
			gs, err := ub.Groups(ctx, "webmasters-pro")
			if err != nil || len(gs) != 1 || *gs[0].ChannelID != 5 {
				t.Fatalf("groups: %+v %v", gs, err)
			}
			if err := ub.DeleteUserbot(ctx, id1, "test", "logged out"); err != nil {
				t.Fatal(err)
			}
			if _, err := ub.Peer(ctx, id1, models.PeerChannel, 5); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("peer after delete: %v", err)
			}
		})
	})
}

func TestDB_SecretVerifier(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		v, err := f.db.SecretVerifier(ctx)
		if err != nil || v != "" {
			t.Fatalf("fresh database: %q %v", v, err)
		}
		if got, err := f.db.KeepSecretVerifier(ctx, "one"); err != nil || got != "one" {
			t.Fatalf("keep: %q %v", got, err)
		}
		if got, err := f.db.KeepSecretVerifier(ctx, "two"); err != nil || got != "one" {
			t.Fatalf("keep again: %q %v, want the first kept", got, err)
		}
		if v, err := f.db.SecretVerifier(ctx); err != nil || v != "one" {
			t.Fatalf("read: %q %v", v, err)
		}
	})
}

func TestStore_QueueChatAction(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if ok, err := f.store.QueueChatAction(ctx, "create_group", "webmasters-pro", "no group"); err != nil || !ok {
			t.Fatalf("first: %v %v", ok, err)
		}
		if ok, err := f.store.QueueChatAction(ctx, "create_group", "webmasters-pro", "no group"); err != nil || ok {
			t.Fatalf("second while the first waits: %v %v", ok, err)
		}
		if _, err := f.store.QueueChatAction(ctx, "create_group", "nope", ""); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown chat: %v", err)
		}
		as := f.claim(t, "w")
		if len(as) != 1 || as[0].Kind != "create_group" || as[0].MemberID != 0 {
			t.Fatalf("claimed %+v", as)
		}
		if err := f.store.CompleteAction(ctx, as[0].ID, "w", "test"); err != nil {
			t.Fatal(err)
		}
		if ok, err := f.store.QueueChatAction(ctx, "create_group", "webmasters-pro", "again"); err != nil || !ok {
			t.Fatalf("after the first is done: %v %v", ok, err)
		}
	})
}

func TestStore_RecordParticipants(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001, "test"); err != nil {
			t.Fatal(err)
		}
		f.put(t, "in-silent", 150, "webmasters") // inside, nothing reported
		f.link(t, "in-silent", 11)
		f.put(t, "gone", 150, "webmasters") // recorded inside, gone
		f.link(t, "gone", 12, "webmasters-pro")
		f.put(t, "low", 5, "webmasters") // inside without qualifying
		f.link(t, "low", 13)
		f.put(t, "known", 150, "webmasters") // inside, recorded
		f.link(t, "known", 14, "webmasters-pro")
		a, err := f.store.RecordParticipants(ctx, "webmasters-pro", []int64{11, 13, 14, 99, 99}, nil, "audit")
		if err != nil {
			t.Fatal(err)
		}
		if a != (models.Audit{Present: 4, Joined: 2, Left: 1, Strangers: 1, Queued: models.Queued{Warnings: 1, Removals: 1}}) {
			t.Fatalf("audit: %+v", a)
		}
		for _, tt := range []struct {
			id    string
			state gate.State
			in    bool
		}{
			{"in-silent", gate.StateMember, true},
			{"gone", gate.StateMember, false}, // the gate keeps a member who left as such
			{"low", gate.StateGrace, true},
			{"known", gate.StateMember, true},
		} {
			t.Run(tt.id, func(t *testing.T) {
				st := f.state(t, tt.id, "webmasters-pro")
				if gate.State(st.State) != tt.state || st.InChat != tt.in {
					t.Fatalf("state %s in=%v, want %s in=%v", st.State, st.InChat, tt.state, tt.in)
				}
			})
		}
		t.Run("strangers once", func(t *testing.T) {
			a, err := f.store.RecordParticipants(ctx, "webmasters-pro", []int64{11, 13, 14, 99}, nil, "audit")
			if err != nil {
				t.Fatal(err)
			}
			if a != (models.Audit{Present: 4}) {
				t.Fatalf("second audit: %+v", a)
			}
			rm, err := f.store.ChatActions(ctx, "webmasters-pro", gate.ActionRemove, models.ActionPending, 100)
			if err != nil {
				t.Fatal(err)
			}
			strangers := 0
			for _, r := range rm {
				if r.MemberID == 0 && *r.TgUserID == 99 {
					strangers++
				}
			}
			if strangers != 1 {
				t.Fatalf("stranger removals queued: %d, want 1", strangers)
			}
		})
	})
}

// TestUserbots_PhoneImports: each account's phone imports are counted in
// a 24-hour window, and old ones are dropped.
func TestUserbots_PhoneImports(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		ub := f.store.Userbots()
		for _, id := range []int64{1, 1, 2} {
			if err := ub.RecordPhoneImport(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ub.PhoneImportsSince(ctx, f.clock.Now().Add(-24*time.Hour))
		if err != nil || got[1] != 2 || got[2] != 1 {
			t.Fatalf("imports: %v %v", got, err)
		}
		f.clock.Advance(25 * time.Hour)
		if err := ub.RecordPhoneImport(ctx, 2); err != nil {
			t.Fatal(err)
		}
		got, err = ub.PhoneImportsSince(ctx, f.clock.Now().Add(-24*time.Hour))
		if err != nil || got[1] != 0 || got[2] != 1 {
			t.Fatalf("a day later: %v %v", got, err)
		}
	})
}
