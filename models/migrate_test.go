package models_test

import (
	"context"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
)

// TestDB_MigrateFillsAGap: a migration numbered below the database's
// version but not applied there (work that landed after a later number) is
// applied by Migrate, and CheckSchema names it until then.
func TestDB_MigrateFillsAGap(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ctx := context.Background()
		db := modelstest.MustOpen(t, spec)
		g := db.Gorm()
		// Undo 0006, as if it had landed after 0009.
		for _, q := range []string{"ALTER TABLE updates DROP COLUMN applied_at", "DELETE FROM schema_migrations WHERE version = 6"} {
			if err := g.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := db.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "0006_applied.sql") {
			t.Fatalf("CheckSchema = %v; want it to name the missing 0006_applied.sql", err)
		}
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) != 1 || applied[0] != "0006_applied.sql" {
			t.Fatalf("Migrate = %v, %v; want only 0006_applied.sql", applied, err)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after = %v", err)
		}
	})
}
