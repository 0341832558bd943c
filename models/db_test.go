package models_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// openOneConn opens and migrates spec with a single write connection on
// both databases (SQLite always has one), so that one open transaction
// holds every write.
func openOneConn(t *testing.T, spec string) *models.Store {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, spec, models.OpenOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: modelstest.NewClock(t0).Now})
}

func mustInput(t *testing.T, id string, karma int64) models.MemberInput {
	t.Helper()
	in := models.MemberInput{ID: id, Karma: karma, Groups: []string{"webmasters"}}
	if err := in.Normalize(nil); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestStore_WriteWait: a change waits to start only as long as its context
// allows, and once started it finishes whatever becomes of the context.
func TestStore_WriteWait(t *testing.T) {
	t.Run("a write that cannot start in time is ErrBusy and writes nothing", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			s := openOneConn(t, spec)
			held := s.DB().Gorm().Begin()
			if held.Error != nil {
				t.Fatal(held.Error)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := s.PutMember(ctx, mustInput(t, "late", 150), "api")
			if !errors.Is(err, models.ErrBusy) {
				t.Fatalf("put while the write slot is held: err = %v, want ErrBusy", err)
			}
			if err := held.Rollback().Error; err != nil {
				t.Fatal(err)
			}
			if _, err := s.FindMember(context.Background(), "late"); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("the refused write left a member: %v", err)
			}
		})
	})
	t.Run("a started write commits though its context is cancelled", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			s := openOneConn(t, spec)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			models.SetBeganHook(s, cancel)
			if _, err := s.PutMember(ctx, mustInput(t, "kept", 150), "api"); err != nil {
				t.Fatalf("put cancelled after it started: %v", err)
			}
			if ctx.Err() == nil {
				t.Fatal("the hook did not cancel the context")
			}
			models.SetBeganHook(s, nil)
			v, err := s.FindMember(context.Background(), "kept")
			if err != nil || v.Member.Karma != 150 {
				t.Fatalf("after the cancelled put: %+v, %v", v, err)
			}
		})
	})
}

func TestOpen_SQLiteFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := models.Open(context.Background(), "sqlite:"+filepath.Join(dir, "karmagate.db"), models.OpenOptions{})
	want := "the folder " + dir + " for the SQLite database does not exist"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestDB_Migrate0002 migrates a version 1 database that holds actions of a
// member deleted and created again under the same id: each action gets the
// member row it was queued for, and none the other's.
func TestDB_Migrate0002(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ctx := context.Background()
		db, err := models.Open(ctx, spec, models.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := models.MigrateTo(ctx, db, 1); err != nil {
			t.Fatal(err)
		}
		g := db.Gorm()
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		exec := func(q string, args ...any) {
			t.Helper()
			if err := g.Exec(q, args...).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// ann's first row (id 1) was deleted at hour 1 after an invite;
		// her second row (id 2) dates from hour 2; bob's row and action
		// share an instant.
		exec("INSERT INTO members (id, external_id, karma, group_list, created_at, updated_at) VALUES (2, 'ann', 1, ?, ?, ?), (3, 'bob', 1, '', ?, ?)",
			strings.Repeat("g", 10), at(2), at(2), at(0), at(0))
		for _, a := range []struct {
			key, ext string
			h        int
		}{{"old", "ann", 0}, {"new", "ann", 3}, {"bob", "bob", 0}} {
			exec("INSERT INTO actions (idem_key, kind, member_ext, chat_key, status, not_before, created_at, updated_at) VALUES (?, 'invite', ?, 'c', 'done', ?, ?, ?)",
				a.key, a.ext, at(a.h), at(a.h), at(a.h))
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var got []struct {
			IdemKey  string
			MemberID int64
		}
		if err := g.Raw("SELECT idem_key, member_id FROM actions ORDER BY id").Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"old": 0, "new": 2, "bob": 3}
		if len(got) != len(want) {
			t.Fatalf("actions = %+v", got)
		}
		for _, r := range got {
			if want[r.IdemKey] != r.MemberID {
				t.Errorf("action %s: member_id %d, want %d", r.IdemKey, r.MemberID, want[r.IdemKey])
			}
		}
	})
}
