package models

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers are handed out to work that lands in any order, so a build
	// may lack one in between; each number is used once.
	for i, m := range ms {
		if m.version < 1 || i > 0 && m.version == ms[i-1].version {
			return nil, fmt.Errorf("migrations for %s: %s has a number that is below 1 or used twice", db.dialect, m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this build knows: its highest
// migration.
func (db *DB) SchemaVersion() int {
	ms, _ := db.migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// appliedVersions lists the migrations the database has recorded.
func appliedVersions(g *gorm.DB) (map[int]bool, error) {
	out := map[int]bool{}
	if !g.Migrator().HasTable("schema_migrations") {
		return out, nil
	}
	var vs []int
	if err := g.Raw("SELECT version FROM schema_migrations").Scan(&vs).Error; err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	for _, v := range vs {
		out[v] = true
	}
	return out, nil
}

// Version reports the version the database is at (0 when empty).
func (db *DB) Version(ctx context.Context) (int, error) {
	return version(db.read.WithContext(ctx))
}

func version(g *gorm.DB) (int, error) {
	if !g.Migrator().HasTable("schema_migrations") {
		return 0, nil
	}
	var v *int
	if err := g.Raw("SELECT MAX(version) FROM schema_migrations").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Migrate brings the schema up to this build's version. It refuses a
// database whose schema is newer than this build (a downgrade would corrupt
// it). Several instances may call it at once: on MySQL a named lock lets one
// migrate while the others wait.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	return db.migrateTo(ctx, -1)
}

// migrateTo migrates up to version to (all of them when to < 0).
func (db *DB) migrateTo(ctx context.Context, to int) (applied []string, err error) {
	ms, err := db.migrations()
	if err != nil {
		return nil, err
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	if to >= 0 {
		upTo := ms[:0:0]
		for _, m := range ms {
			if m.version <= to {
				upTo = append(upTo, m)
			}
		}
		ms = upTo
	}
	err = db.gorm.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if db.dialect == MySQL {
			var got *int
			if err := conn.Raw("SELECT GET_LOCK('karmagate.migrate', 60)").Scan(&got).Error; err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
			if got == nil || *got != 1 {
				return fmt.Errorf("take migration lock: another instance held it for 60 s")
			}
			defer conn.Exec("SELECT RELEASE_LOCK('karmagate.migrate')")
		}
		if err := conn.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER NOT NULL PRIMARY KEY,
			name VARCHAR(255) NOT NULL,
			applied_at VARCHAR(64) NOT NULL)`).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		cur, err := version(conn)
		if err != nil {
			return err
		}
		if cur > known {
			return fmt.Errorf("database schema is at version %d but this karmagate knows only up to %d: upgrade karmagate", cur, known)
		}
		done, err := appliedVersions(conn)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if err := db.apply(conn, m); err != nil {
				return err
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	return applied, err
}

func (db *DB) apply(conn *gorm.DB, m migration) error {
	run := func(tx *gorm.DB) error {
		for _, stmt := range splitSQL(m.sql) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)).Error
	}
	if db.dialect == SQLite {
		return conn.Transaction(run) // SQLite DDL is transactional
	}
	return run(conn) // MySQL commits DDL implicitly
}

// CheckSchema refuses a database that is not at this build's version.
func (db *DB) CheckSchema(ctx context.Context) error {
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	if want := db.SchemaVersion(); v != want {
		return fmt.Errorf("database schema is at version %d, this karmagate needs %d: run karmagate migrate", v, want)
	}
	ms, err := db.migrations()
	if err != nil {
		return err
	}
	done, err := appliedVersions(db.read.WithContext(ctx))
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !done[m.version] {
			return fmt.Errorf("database schema lacks migration %s: run karmagate migrate", m.name)
		}
	}
	return nil
}

// splitSQL splits a migration into statements at semicolons ending a line.
func splitSQL(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";\n") {
		if p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";")); p != "" {
			out = append(out, p)
		}
	}
	return out
}
