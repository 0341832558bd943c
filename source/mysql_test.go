package source_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/source"
)

// siteDB creates a throwaway MariaDB database standing for the website's
// own and returns its KARMAGATE_SOURCE spec and a handle to fill it. The
// test is skipped without KARMAGATE_TEST_MYSQL (and fails under CI without
// it, as every MariaDB test does).
func siteDB(t testing.TB) (string, *sql.DB) {
	t.Helper()
	spec, ok := modelstest.Specs(t)["mysql"]
	if !ok {
		t.Skipf("the pull source reads MariaDB: set %s", modelstest.EnvMySQL)
	}
	db, err := sql.Open("mysql", strings.TrimPrefix(spec, "mysql:"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return spec, db
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) sql.Result {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// usersTable makes the website's users table with n members: ids 1…n,
// karma spread from -50 to 249, webmasters, customers, or webmasters and
// staff.
func usersTable(t testing.TB, db *sql.DB, n int) {
	t.Helper()
	mustExec(t, db, `CREATE TABLE users (
		id INT NOT NULL PRIMARY KEY,
		karma INT NOT NULL,
		user_groups VARCHAR(255) NOT NULL DEFAULT '',
		email VARCHAR(255))`)
	groups := []string{"customers", "webmasters", "webmasters,staff"}
	for start := 1; start <= n; start += 1000 {
		var b strings.Builder
		var args []any
		b.WriteString("INSERT INTO users (id, karma, user_groups, email) VALUES ")
		for i := start; i < start+1000 && i <= n; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, i, (i*37)%300-50, groups[i%3], fmt.Sprintf("u%d@example.org", i))
		}
		mustExec(t, db, b.String(), args...)
	}
}

const usersQuery = "SELECT id, karma, user_groups AS `groups` FROM users"

func newMySQL(t testing.TB, spec, query string) *source.MySQL {
	t.Helper()
	m, err := source.OpenMySQL(spec, query)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestPoller_MariaDB10k is issue 10's must-show: 10,000 rows in a MariaDB
// table, changed in 100 places, reach karmagate within one poll, and only
// those 100 are re-planned.
func TestPoller_MariaDB10k(t *testing.T) {
	spec, site := siteDB(t)
	usersTable(t, site, 10_000)
	modelstest.Each(t, func(t *testing.T, storeSpec string) {
		ctx := context.Background()
		mustExec(t, site, "UPDATE users SET karma = (id * 37) % 300 - 50") // as made, for each database in turn
		store := models.NewStore(modelstest.MustOpen(t, storeSpec), modelstest.MustRules(t, modelstest.Rules), models.Options{})
		p, err := source.New(source.Options{Store: store, Fetcher: newMySQL(t, spec, usersQuery)})
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 10_000 || res.Created != 10_000 || len(res.Refused) != 0 {
			t.Fatalf("first poll = %+v, want 10,000 created", res)
		}
		latest, err := store.Events(ctx, models.EventFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		mark := latest[0].ID

		// 100 members gain 500 karma: every hundredth id.
		if n, err := mustExec(t, site, "UPDATE users SET karma = karma + 500 WHERE id % 100 = 0").RowsAffected(); err != nil || n != 100 {
			t.Fatalf("changed %d rows (%v), want 100", n, err)
		}
		res, err = p.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 10_000 || res.Changed != 100 || res.Updated != 100 || res.Created != 0 || res.Unchanged != 9_900 || res.Deleted != 0 {
			t.Fatalf("second poll = %+v, want exactly 100 updated", res)
		}
		t.Logf("%s: 10,000 rows with 100 changes polled and applied in %s (%d actions queued)", store.DB().Dialect(), res.Duration, res.Actions)

		events, err := store.Events(ctx, models.EventFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		updated, touched, bulk := map[string]bool{}, map[string]bool{}, 0
		for _, e := range events {
			if e.ID <= mark {
				break
			}
			if e.Actor != "source" {
				t.Errorf("event by %q: %+v", e.Actor, e)
			}
			switch e.Kind {
			case models.EventMemberUpdated:
				updated[*e.MemberExt] = true
			case models.EventBulkImport:
				bulk++
				if e.Detail != "bulk upsert of 100 members: 0 created, 100 updated, 0 unchanged" {
					t.Errorf("bulk event %q", e.Detail)
				}
			}
			if e.MemberExt != nil {
				touched[*e.MemberExt] = true
			}
		}
		if len(updated) != 100 || bulk != 1 {
			t.Fatalf("%d members updated, %d bulk events; want 100 and 1", len(updated), bulk)
		}
		for id := range touched {
			var n int
			if _, err := fmt.Sscan(id, &n); err != nil || n%100 != 0 {
				t.Errorf("member %s was re-planned but did not change", id)
			}
		}
		v, err := store.FindMember(ctx, "4200") // webmasters, karma 4200*37%300-50 = 250 → 750
		if err != nil {
			t.Fatal(err)
		}
		if v.Member.Karma != ((4200*37)%300-50)+500 {
			t.Errorf("member 4200 karma = %d", v.Member.Karma)
		}

		res, err = p.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed != 0 || res.Unchanged != 10_000 {
			t.Fatalf("third poll = %+v, want nothing changed", res)
		}
	})
}

func TestMySQL_Fetch(t *testing.T) {
	spec, site := siteDB(t)
	mustExec(t, site, `CREATE TABLE people (
		id VARCHAR(100) NOT NULL PRIMARY KEY,
		karma DECIMAL(10,2),
		grp VARCHAR(255),
		display VARCHAR(255),
		phone VARCHAR(32))`)
	mustExec(t, site, `INSERT INTO people VALUES
		('ann', 150.00, 'webmasters', 'Ann', '+14155550123'),
		('bad id', 10, 'webmasters', NULL, NULL),
		('frac', 12.50, 'customers', NULL, NULL),
		('hacker', 10, 'hackers', NULL, NULL),
		('nokarma', NULL, 'customers', NULL, NULL),
		('nogroups', -3, NULL, NULL, NULL)`)
	ctx := context.Background()
	t.Run("columns by name, NULLs, and refusals through a poll", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, storeSpec string) {
			store := models.NewStore(modelstest.MustOpen(t, storeSpec), modelstest.MustRules(t, modelstest.Rules), models.Options{})
			p, err := source.New(source.Options{Store: store,
				Fetcher: newMySQL(t, spec, "SELECT id, karma, grp AS `Groups`, display AS name, phone FROM people ORDER BY id")})
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			refused := map[string]string{}
			for _, r := range res.Refused {
				refused[r.ID] = r.Field
			}
			want := map[string]string{"bad id": "id", "frac": "karma", "hacker": "groups", "nokarma": "karma"}
			if res.Rows != 6 || res.Created != 2 || fmt.Sprint(refused) != fmt.Sprint(want) {
				t.Fatalf("poll = %+v, refused %v; want ann and nogroups created, %v refused", res, refused, want)
			}
			v, err := store.FindMember(ctx, "ann")
			if err != nil {
				t.Fatal(err)
			}
			if m := v.Member; m.Karma != 150 || m.GroupList != "webmasters" || m.Name == nil || *m.Name != "Ann" || m.Phone == nil || *m.Phone != "+14155550123" {
				t.Errorf("ann = %+v", m)
			}
			if v, err := store.FindMember(ctx, "nogroups"); err != nil || v.Member.GroupList != "" || v.Member.Karma != -3 {
				t.Errorf("nogroups = %+v, %v", v, err)
			}
			evs, err := store.Events(ctx, models.EventFilter{Kind: models.EventSourceRefused})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 4 {
				t.Errorf("%d source.refused events, want 4", len(evs))
			}
		})
	})
	for _, tt := range []struct {
		name, query, want string
	}{
		{"an unknown column", "SELECT id, karma, grp AS groups, phone AS telephone FROM people", `"telephone"`},
		{"a missing column", "SELECT id, karma FROM people", "no column groups"},
		{"a column twice", "SELECT id, karma, grp AS groups, display AS groups FROM people", "two columns named groups"},
		{"a query that does not parse", "SELECT id, karma, groups FROM nowhere", "nowhere"},
		{"a query that writes", "DELETE FROM people", "READ ONLY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := newMySQL(t, spec, tt.query).Fetch(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Fetch = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	var n int
	if err := site.QueryRow("SELECT COUNT(*) FROM people").Scan(&n); err != nil || n != 6 {
		t.Errorf("people has %d rows (%v) after the refused write, want 6", n, err)
	}
	t.Run("bad specs", func(t *testing.T) {
		for spec, want := range map[string]string{
			"sqlite:site.db":                  "mysql:DSN",
			"mysql:root@tcp(127.0.0.1:3306)/": "names no database",
			"mysql:root@tcp(127.0.0.1:3306":   "source DSN",
		} {
			if _, err := source.OpenMySQL(spec, "SELECT 1"); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenMySQL(%q) = %v, want an error containing %q", spec, err, want)
			}
		}
	})
}

// BenchmarkPoller_Poll10k measures one poll of 10,000 rows of which 100
// changed since the last: the query, the comparison with karmagate's
// members and the transaction that applies and re-plans the 100.
func BenchmarkPoller_Poll10k(b *testing.B) {
	spec, site := siteDB(b)
	usersTable(b, site, 10_000)
	for _, name := range []string{"sqlite", "mysql"} {
		b.Run(name, func(b *testing.B) {
			storeSpec := modelstest.Specs(b)[name]
			store := models.NewStore(modelstest.MustOpen(b, storeSpec), modelstest.MustRules(b, modelstest.Rules), models.Options{})
			p, err := source.New(source.Options{Store: store, Fetcher: newMySQL(b, spec, usersQuery)})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := p.Poll(ctx); err != nil {
				b.Fatal(err)
			}
			var total, query time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				sign := []string{"+", "-"}[i%2]
				mustExec(b, site, "UPDATE users SET karma = karma "+sign+" 500 WHERE id % 100 = 0")
				b.StartTimer()
				res, err := p.Poll(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if res.Updated != 100 {
					b.Fatalf("poll = %+v, want 100 updated", res)
				}
				total, query = total+res.Duration, query+res.Query
			}
			b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms/poll")
			b.Logf("%s: 10,000 rows, 100 changed: %s per poll, of which the query %s", name, total/time.Duration(b.N), query/time.Duration(b.N))
		})
	}
}
