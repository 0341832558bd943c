// Package modelstest runs tests against every database karmagate supports:
// SQLite in a temporary directory always, and MariaDB (the mysql dialect) when
// KARMAGATE_TEST_MYSQL names a server (a go-sql-driver DSN without a
// database, e.g. "root@tcp(127.0.0.1:3306)/"). Each test gets a throwaway
// database of its own. Under CI (CI=true) a missing MariaDB server is an
// error, never a silent skip.
package modelstest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// EnvMySQL names the variable that points tests at a MySQL/MariaDB server.
const EnvMySQL = "KARMAGATE_TEST_MYSQL"

var seq atomic.Int64

// Specs returns a fresh KARMAGATE_DB spec per supported database, by name
// ("sqlite", "mysql"). The databases are dropped when the test ends.
func Specs(t testing.TB) map[string]string {
	t.Helper()
	specs := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "karmagate.db")}
	server := os.Getenv(EnvMySQL)
	if server == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is not: the MariaDB tests would be skipped", EnvMySQL)
		}
		return specs
	}
	specs["mysql"] = "mysql:" + createMySQL(t, server)
	return specs
}

func createMySQL(t testing.TB, server string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	name := fmt.Sprintf("kgt_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("create test database (is MariaDB running? %s=%q): %v", EnvMySQL, server, err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE " + name)
		admin.Close()
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// Each runs fn as a subtest per database.
func Each(t *testing.T, fn func(t *testing.T, spec string)) {
	t.Helper()
	specs := Specs(t)
	for _, name := range []string{"sqlite", "mysql"} {
		if spec, ok := specs[name]; ok {
			t.Run(name, func(t *testing.T) { fn(t, spec) })
		}
	}
}

// MustOpen opens and migrates the database spec names, closing it when the
// test ends.
func MustOpen(t testing.TB, spec string) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), spec, models.OpenOptions{})
	if err != nil {
		t.Fatalf("open %s: %v", strings.SplitN(spec, ":", 2)[0], err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// Clock is a settable clock for tests.
type Clock struct{ t atomic.Pointer[time.Time] }

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return *c.t.Load() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.t.Store(&t) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// MustRules parses a rules file or fails the test.
func MustRules(t testing.TB, src string) *gate.Rules {
	t.Helper()
	r, err := gate.ParseRules("rules.yaml", []byte(src))
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return r
}

// Rules is a rules file the tests share: hysteresis and grace on
// webmasters-pro, a flagging customers-club.
const Rules = `
groups: [webmasters, customers, staff]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    leave_below: 90
    grace: 24h
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
`
