package modelstest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models/modelstest"
)

func TestSpecs(t *testing.T) {
	ctx := context.Background()
	specs := modelstest.Specs(t)
	if !strings.HasPrefix(specs["sqlite"], "sqlite:") {
		t.Fatalf("sqlite spec = %q", specs["sqlite"])
	}
	again := modelstest.Specs(t)
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			db := modelstest.MustOpen(t, spec)
			if err := db.CheckSchema(ctx); err != nil {
				t.Fatalf("a fresh test database is not migrated: %v", err)
			}
			// Each call gets a database of its own: what one holds, the
			// other's does not.
			other := modelstest.MustOpen(t, again[name])
			if err := db.Gorm().Exec("INSERT INTO meta (k, v) VALUES (?, ?)", "probe", name).Error; err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := other.Gorm().Raw("SELECT COUNT(*) FROM meta WHERE k = ?", "probe").Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatal("two calls of Specs share a database")
			}
		})
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := modelstest.NewClock(t0)
	c.Advance(90 * time.Minute)
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Minute)) {
		t.Fatalf("now = %s", got)
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("Set did not move the clock")
	}
}

func TestRules(t *testing.T) {
	r := modelstest.MustRules(t, modelstest.Rules)
	if len(r.Chats) != 2 {
		t.Fatalf("shared rules have %d chats", len(r.Chats))
	}
}
