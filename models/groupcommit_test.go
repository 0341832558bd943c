package models_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// groupFixture is a store with a group commit whose window is long enough
// that writes started together share a batch, and the sizes of the
// batches it committed.
type groupFixture struct {
	store *models.Store
	group *models.GroupCommit
	mu    sync.Mutex
	sizes []int
}

func newGroupFixture(t *testing.T, spec string, fail func(member string) error) *groupFixture {
	t.Helper()
	db := modelstest.MustOpen(t, spec)
	f := &groupFixture{store: models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})}
	f.group = models.NewGroupCommit(f.store, models.GroupOptions{Window: 100 * time.Millisecond})
	models.SetGroupHooks(f.group, func(n int) {
		f.mu.Lock()
		f.sizes = append(f.sizes, n)
		f.mu.Unlock()
	}, fail)
	return f
}

func (f *groupFixture) batches() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

func put(t *testing.T, id string, karma int64) models.MemberInput {
	t.Helper()
	in := models.MemberInput{ID: id, Karma: karma, Groups: []string{"webmasters"}}
	if err := in.Normalize(modelstest.MustRules(t, modelstest.Rules)); err != nil {
		t.Fatal(err)
	}
	return in
}

// together runs fns at once and waits for them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); fn() }()
	}
	wg.Wait()
}

// TestGroupCommit_OneFailsAlone: writes started together share one
// transaction; a write that fails fails alone with its own error, and the
// others are committed (in the same batch when the failure is the write's
// own input, re-run without it when it broke the transaction).
func TestGroupCommit_OneFailsAlone(t *testing.T) {
	ctx := context.Background()
	modelstest.Each(t, func(t *testing.T, spec string) {
		t.Run("input", func(t *testing.T) {
			f := newGroupFixture(t, spec, nil)
			if _, err := f.store.PutMember(ctx, put(t, "maxed", math.MaxInt64-1), "test"); err != nil {
				t.Fatal(err)
			}
			errs := make([]error, 8)
			fns := make([]func(), 0, 10)
			for i := range errs {
				fns = append(fns, func() { _, errs[i] = f.group.PutMember(ctx, put(t, fmt.Sprintf("m%d", i), int64(100+i)), "test") })
			}
			var overflow, missing error
			fns = append(fns,
				func() { _, overflow = f.group.AddKarma(ctx, "maxed", 5, "test") },
				func() { _, missing = f.group.AddKarma(ctx, "nobody", 5, "test") })
			together(fns...)
			var ie *models.InputError
			if !errors.As(overflow, &ie) || ie.Field != "delta" {
				t.Errorf("karma overflow: %v, want an input error on delta", overflow)
			}
			if !errors.Is(missing, models.ErrNotFound) {
				t.Errorf("unknown member: %v, want not found", missing)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("m%d: %v", i, err)
					continue
				}
				v, err := f.store.FindMember(ctx, fmt.Sprintf("m%d", i))
				if err != nil || v.Member.Karma != int64(100+i) {
					t.Errorf("m%d after the batch: %v %v", i, v, err)
				}
			}
			if v, _ := f.store.FindMember(ctx, "maxed"); v.Member.Karma != math.MaxInt64-1 {
				t.Errorf("the overflowing member's karma moved: %d", v.Member.Karma)
			}
			if got := f.batches(); len(got) != 1 || got[0] != 10 {
				t.Errorf("batches %v, want one of 10 (the two failed writes answered from it)", got)
			}
		})
		t.Run("transaction", func(t *testing.T) {
			boom := errors.New("boom")
			f := newGroupFixture(t, spec, func(member string) error {
				if member == "bad" {
					return boom
				}
				return nil
			})
			ids := []string{"a1", "a2", "bad", "a3", "a4", "a5"}
			errs := make([]error, len(ids))
			views := make([]models.PutResult, len(ids))
			fns := make([]func(), len(ids))
			for i, id := range ids {
				fns[i] = func() { views[i], errs[i] = f.group.PutMember(ctx, put(t, id, 150), "test") }
			}
			together(fns...)
			for i, id := range ids {
				if id == "bad" {
					if !errors.Is(errs[i], boom) {
						t.Errorf("bad: %v, want its own error", errs[i])
					}
					if _, err := f.store.FindMember(ctx, id); !errors.Is(err, models.ErrNotFound) {
						t.Errorf("bad was stored: %v", err)
					}
					continue
				}
				if errs[i] != nil {
					t.Errorf("%s: %v", id, errs[i])
					continue
				}
				if views[i].Created != 1 || views[i].View == nil || views[i].View.Member.ExternalID != id {
					t.Errorf("%s: answer %+v", id, views[i])
				}
				v, err := f.store.FindMember(ctx, id)
				if err != nil || v.Member.Karma != 150 {
					t.Errorf("%s after the batch: %v %v", id, v, err)
				}
			}
			if got := f.batches(); len(got) != 1 || got[0] != 5 {
				t.Errorf("batches committed %v, want one of 5 (the batch re-run without bad)", got)
			}
		})
	})
}

// TestGroupCommit_Panic: a batch that panics fails its writes with an
// error (nothing written) and the group commit goes on with the next.
func TestGroupCommit_Panic(t *testing.T) {
	ctx := context.Background()
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newGroupFixture(t, spec, func(member string) error {
			if member == "boom" {
				panic("boom")
			}
			return nil
		})
		var errA, errB error
		together(
			func() { _, errA = f.group.PutMember(ctx, put(t, "boom", 1), "test") },
			func() { _, errB = f.group.PutMember(ctx, put(t, "ok", 1), "test") })
		if errA == nil || errB == nil {
			t.Fatalf("a panicking batch answered %v, %v; want errors", errA, errB)
		}
		if _, err := f.store.FindMember(ctx, "ok"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("the panicking batch wrote: %v", err)
		}
		if _, err := f.group.PutMember(ctx, put(t, "after", 1), "test"); err != nil {
			t.Errorf("after the panic: %v", err)
		}
	})
}

// TestGroupCommit_Concurrent: many writers on few members; no update is
// lost, a member is never twice in one batch, every caller is answered.
func TestGroupCommit_Concurrent(t *testing.T) {
	ctx := context.Background()
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
		g := models.NewGroupCommit(store, models.GroupOptions{Window: time.Millisecond, Max: 8})
		const members, writers, each = 4, 16, 10
		for i := range members {
			if _, err := g.PutMember(ctx, put(t, fmt.Sprintf("c%d", i), 0), "test"); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range each {
					id := fmt.Sprintf("c%d", (w+k)%members)
					if _, err := g.AddKarma(ctx, id, 1, "test"); err != nil {
						t.Errorf("add karma %s: %v", id, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		total := int64(0)
		for i := range members {
			v, err := store.FindMember(ctx, fmt.Sprintf("c%d", i))
			if err != nil {
				t.Fatal(err)
			}
			total += v.Member.Karma
		}
		if total != writers*each {
			t.Errorf("karma added %d, want %d: updates lost", total, writers*each)
		}
	})
}
