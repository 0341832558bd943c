package modelstest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models/modelstest"
)

func TestSpecs(t *testing.T) {
	specs := modelstest.Specs(t)
	if !strings.HasPrefix(specs["sqlite"], "sqlite:") {
		t.Fatalf("sqlite spec = %q", specs["sqlite"])
	}
	for name, spec := range specs {
		db := modelstest.MustOpen(t, spec)
		if err := db.CheckSchema(context.Background()); err != nil {
			t.Errorf("%s: a fresh test database is not migrated: %v", name, err)
		}
	}
	// Each call gets a database of its own.
	if again := modelstest.Specs(t); again["sqlite"] == specs["sqlite"] || (specs["mysql"] != "" && again["mysql"] == specs["mysql"]) {
		t.Error("two calls shared a database")
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
