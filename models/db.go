package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
)

// Dialect names the database behind a DB.
type Dialect string

// The supported databases.
const (
	SQLite Dialect = "sqlite"
	// MySQL is MariaDB 10.6 or later, the server CI tests on. The SQL keeps
	// to what MySQL 8 also accepts, but MySQL 8 itself is untested.
	MySQL Dialect = "mysql"
)

// DB is an open database.
type DB struct {
	gorm    *gorm.DB // every write, and reads inside write transactions
	read    *gorm.DB // reads outside transactions: a pool of its own on SQLite
	dialect Dialect
	file    string // the SQLite file; "" for MySQL and in-memory databases
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Gorm exposes the gorm handle, for tests and benchmarks that measure the
// database itself.
func (db *DB) Gorm() *gorm.DB { return db.gorm }

// Close closes the connection pools.
func (db *DB) Close() error {
	var errs []error
	for _, g := range []*gorm.DB{db.read, db.gorm} {
		if g == nil {
			continue
		}
		if sqlDB, err := g.DB(); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, sqlDB.Close())
		}
		if db.read == db.gorm {
			break
		}
	}
	return errors.Join(errs...)
}

// Ping checks the database answers (through the read pool, so that a long
// write does not make the service look down).
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.read.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// OpenOptions tunes Open; the zero value works.
type OpenOptions struct {
	Logger       *slog.Logger
	MaxOpenConns int // MySQL pool size; default 20
}

// Open opens the database KARMAGATE_DB names: "sqlite:PATH" or "mysql:DSN"
// (a go-sql-driver DSN such as user:pw@tcp(127.0.0.1:3306)/karmagate).
// It does not migrate; call Migrate.
func Open(ctx context.Context, spec string, opts OpenOptions) (*DB, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || rest == "" {
		return nil, fmt.Errorf("database %q: want sqlite:PATH or mysql:DSN", redact(spec))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 gormLogger{log: opts.Logger},
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var db *DB
	switch kind {
	case "sqlite":
		if err := checkSQLiteFolder(rest); err != nil {
			return nil, err
		}
		file := sqliteFile(rest)
		if err := prepareSQLiteFile(ctx, file, opts.Logger); err != nil {
			return nil, err
		}
		g, err := gorm.Open(sqlite.Open(sqliteDSN(rest)), cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", rest, err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		// SQLite allows one writer at a time. One connection serialises
		// every transaction in-process, so concurrent writes queue instead
		// of failing with SQLITE_BUSY; WAL keeps other processes' readers
		// unblocked and busy_timeout makes other processes' writers wait.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetConnMaxLifetime(0)
		// Readers get a pool of their own: in WAL mode they see the last
		// commit and never wait for the writer, so a long bulk import does
		// not stall GETs, health checks or metrics.
		r, err := gorm.Open(sqlite.Open(sqliteReadDSN(rest)), cfg)
		if err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open sqlite %s for reading: %w", rest, err)
		}
		if rdb, err := r.DB(); err == nil {
			rdb.SetMaxOpenConns(4)
			rdb.SetMaxIdleConns(4)
		}
		db = &DB{gorm: g, read: r, dialect: SQLite, file: file}
	case "mysql":
		dsn, err := mysqlDSN(ctx, rest)
		if err != nil {
			return nil, err
		}
		g, err := gorm.Open(mysql.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("open mysql %s: %w", redact(spec), err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{gorm: g, read: g, dialect: MySQL}
	default:
		return nil, fmt.Errorf("database %q: unknown kind %q, want sqlite or mysql", redact(spec), kind)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", kind, err)
	}
	// The first connection made the -wal and -shm files: SQLite gives them
	// the database file's mode, but one left by an older version may be
	// looser.
	if err := tightenSQLiteFiles(ctx, db.file, opts.Logger); db.file != "" && err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteDSN adds WAL, a busy timeout, immediate write transactions and
// foreign keys to a path, keeping any parameters the user gave.
func sqliteDSN(path string) string {
	p, q, _ := strings.Cut(path, "?")
	vals, _ := url.ParseQuery(q)
	pragmas := strings.Join(vals["_pragma"], " ")
	add := func(name, val string) {
		if !strings.Contains(pragmas, name) {
			vals.Add("_pragma", name+"("+val+")")
		}
	}
	// page_size must come first: it only applies to a new file. With 2 KiB
	// pages the scratch space SQLite allocates to rebalance a B-tree page
	// stays below the size at which the pure-Go allocator maps and unmaps
	// memory for each allocation (with 4 KiB pages that was a third of bulk
	// ingest). A 64 MiB page cache keeps a bulk transaction from spilling.
	add("page_size", "2048")
	add("cache_size", "-65536")
	add("busy_timeout", "10000")
	add("journal_mode", "WAL")
	add("synchronous", "NORMAL")
	add("foreign_keys", "1")
	if vals.Get("_txlock") == "" {
		vals.Set("_txlock", "immediate")
	}
	return p + "?" + vals.Encode()
}

// sqliteReadDSN is the DSN of the read pool: the same file, read-only
// queries, deferred transactions.
func sqliteReadDSN(path string) string {
	p, q, _ := strings.Cut(path, "?")
	vals, _ := url.ParseQuery(q)
	vals.Set("_txlock", "deferred")
	// query_only last, after journal_mode has been read.
	return sqliteDSN(p+"?"+vals.Encode()) + "&_pragma=query_only(1)"
}

// mysqlDSN fills in what karmagate relies on: parsed UTC times, utf8mb4,
// matched rows as RowsAffected, client-side parameter interpolation (one round trip per statement) and
// READ COMMITTED transactions. Every change locks the member's row first, so
// the stricter default (REPEATABLE READ) adds nothing but gap locks, which
// make concurrent creates deadlock.
func mysqlDSN(ctx context.Context, dsn string) (string, error) {
	c, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("mysql DSN: %w", err)
	}
	if _, set := c.Params["transaction_isolation"]; !set {
		if _, set := c.Params["tx_isolation"]; !set {
			name, err := isolationVariable(ctx, c.Clone())
			if err != nil {
				return "", err
			}
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			c.Params[name] = "'READ-COMMITTED'"
		}
	}
	c.ParseTime = true
	c.Loc = time.UTC
	// An UPDATE reports the rows it matched, as on SQLite, not only those
	// whose values changed: "no row" must mean no row on both databases.
	c.ClientFoundRows = true
	if c.Collation == "" {
		c.Collation = "utf8mb4_bin"
	}
	if _, ok := c.Params["interpolateParams"]; !ok {
		c.InterpolateParams = true
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	// Writes are not cancelled when a client hangs up; these bound a server
	// that stops answering.
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 60 * time.Second
	}
	return c.FormatDSN(), nil
}

// redact hides a password in a database spec for messages and logs.
func redact(spec string) string {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || kind != "mysql" {
		return spec
	}
	c, err := mysqldriver.ParseDSN(rest)
	if err != nil || c.Passwd == "" {
		return spec
	}
	c.Passwd = "***"
	return kind + ":" + c.FormatDSN()
}

// lockWait reports whether err is MySQL's lock wait timeout.
func lockWait(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && me.Number == 1205
}

// retryable reports whether a transaction failed only because another one
// got in its way, so that running it again will do.
func retryable(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205: // deadlock, lock wait timeout
			return true
		case 1062: // duplicate key: two creates of one member raced
			return true
		}
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return errors.Is(err, gorm.ErrDuplicatedKey)
}

// isolationVariable names the session variable for the isolation level:
// transaction_isolation on MySQL 8 and MariaDB 11.1+, tx_isolation before.
func isolationVariable(ctx context.Context, c *mysqldriver.Config) (string, error) {
	conn, err := mysqldriver.NewConnector(c)
	if err != nil {
		return "", fmt.Errorf("mysql DSN: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT @@version").Scan(&v); err != nil {
		return "", fmt.Errorf("connect to mysql database: %w", err)
	}
	return isolationVariableFor(v)
}

// isolationVariableFor names the isolation variable of the server that
// reports version v (SELECT @@version).
func isolationVariableFor(v string) (string, error) {
	var major, minor int
	if n, err := fmt.Sscanf(v, "%d.%d", &major, &minor); n != 2 {
		return "", fmt.Errorf("mysql server version %q: want major.minor…: %v", v, err)
	}
	if strings.Contains(strings.ToLower(v), "mariadb") && (major < 11 || (major == 11 && minor < 1)) {
		return "tx_isolation", nil
	}
	return "transaction_isolation", nil
}

// checkSQLiteFolder says plainly when the folder an SQLite path names does
// not exist: SQLite itself answers "out of memory (14)".
func checkSQLiteFolder(path string) error {
	p, _, _ := strings.Cut(path, "?")
	p = strings.TrimPrefix(p, "file:")
	if p == "" || strings.HasPrefix(p, ":memory:") {
		return nil
	}
	dir := filepath.Dir(p)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the folder %s for the SQLite database does not exist", dir)
	case err != nil:
		return fmt.Errorf("the folder %s for the SQLite database: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s, where the SQLite database should go, is not a folder", dir)
	}
	return nil
}
