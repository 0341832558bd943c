package models_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// BenchmarkStore_PutMembersUpdate re-puts 20,000 existing members in one
// PutMembers call per iteration, their karma crossing webmasters-pro's bar
// each time, so every member row and every one of their chat states is
// updated: the update side of bulk ingest, on each database.
func BenchmarkStore_PutMembersUpdate(b *testing.B) {
	const n = 20_000
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			spec, ok := modelstest.Specs(b)[kind]
			if !ok {
				b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
			}
			store := models.NewStore(modelstest.MustOpen(b, spec), modelstest.MustRules(b, modelstest.Rules), models.Options{})
			ins := make([]models.MemberInput, n)
			put := func(karma int64) {
				for i := range ins {
					ins[i] = models.MemberInput{ID: fmt.Sprintf("u%d", i), Karma: karma, Groups: []string{"webmasters"}}
				}
				res, err := store.PutMembers(context.Background(), ins, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if res.Created+res.Updated != n {
					b.Fatalf("put = %+v", res)
				}
			}
			put(10)
			karma := int64(10)
			for b.Loop() {
				karma = 160 - karma // 10 ↔ 150: not_eligible ↔ needs_link
				put(karma)
			}
			b.ReportMetric(float64(n), "members/op")
		})
	}
}
