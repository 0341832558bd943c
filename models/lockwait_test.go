package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_LockWaitScopedToItsTransaction: a write with a deadline bounds
// MariaDB's row-lock wait to the time it has left; the next transaction on
// the same pooled connection, without a deadline (a reconcile chunk), must
// get the server's default again, not the 1 s the last caller had left.
func TestStore_LockWaitScopedToItsTransaction(t *testing.T) {
	for name, spec := range modelstest.Specs(t) {
		if !strings.HasPrefix(spec, "mysql:") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, spec)
			models.OneConnection(t, f.db)
			ctx := context.Background()
			def, err := models.SessionLockWait(ctx, f.store)
			if err != nil {
				t.Fatal(err)
			}
			bctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			got, err := models.SessionLockWait(bctx, f.store)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if got > 2 {
				t.Fatalf("a write with 1.5 s left waits %d s for a row lock; want at most 2", got)
			}
			after, err := models.SessionLockWait(ctx, f.store)
			if err != nil {
				t.Fatal(err)
			}
			if after != def {
				t.Errorf("the next transaction without a deadline waits %d s for a row lock; want the default %d (the bound leaked)", after, def)
			}
		})
	}
}
