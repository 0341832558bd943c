package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// MaxRows bounds what one poll reads: a query returning more is surely a
// mistake (a join that multiplies rows), and fails rather than filling
// memory.
const MaxRows = 2_000_000

// MySQL runs the source's query on the website's MySQL or MariaDB
// database, in a read-only transaction: even a user allowed to write
// cannot change anything through it.
type MySQL struct {
	db    *sql.DB
	query string
}

// OpenMySQL opens the website's database that spec names
// (KARMAGATE_SOURCE: "mysql:DSN", a go-sql-driver DSN with a database) for
// query. It does not connect until the first Fetch.
func OpenMySQL(spec, query string) (*MySQL, error) {
	kind, dsn, ok := strings.Cut(spec, ":")
	if !ok || kind != "mysql" || dsn == "" {
		return nil, errors.New("the source must be mysql:DSN, e.g. mysql:karmagate_ro:pw@tcp(127.0.0.1:3306)/website")
	}
	c, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("source DSN: %w", err)
	}
	if c.DBName == "" {
		return nil, errors.New("the source DSN names no database; end it with /yourdatabase")
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 5 * time.Minute
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
	conn, err := mysqldriver.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("source DSN: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1) // one poll at a time
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(10 * time.Minute)
	return &MySQL{db: db, query: query}, nil
}

// Close closes the connection.
func (m *MySQL) Close() error { return m.db.Close() }

// Fetch runs the query and reads its rows. Columns are found by name
// (case-insensitive; use AS to rename): id, karma and groups are required,
// name, phone and username optional, any other refused.
func (m *MySQL) Fetch(ctx context.Context) ([]Row, Columns, error) {
	var cols Columns
	tx, err := m.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, cols, fmt.Errorf("connect to the source: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep
	rows, err := tx.QueryContext(ctx, m.query)
	if err != nil {
		return nil, cols, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, cols, err
	}
	var row Row
	dest := make([]any, len(names))
	vals := make([]sql.NullString, len(names))
	targets := make([]**string, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if seen[n] {
			return nil, cols, fmt.Errorf("the query returns two columns named %s", n)
		}
		seen[n] = true
		switch n {
		case "id":
			targets[i] = &row.ID
		case "karma":
			targets[i] = &row.Karma
		case "groups":
			targets[i] = &row.Groups
		case "name":
			targets[i], cols.Name = &row.Name, true
		case "phone":
			targets[i], cols.Phone = &row.Phone, true
		case "username":
			targets[i], cols.Username = &row.Username, true
		default:
			return nil, cols, fmt.Errorf("the query returns a column %q karmagate does not know: it reads id, karma, groups and optionally name, phone, username (rename with AS)", names[i])
		}
		dest[i] = &vals[i]
	}
	for _, need := range []string{"id", "karma", "groups"} {
		if !seen[need] {
			return nil, cols, fmt.Errorf("the query returns no column %s: it must return id, karma and groups (rename with AS)", need)
		}
	}
	var out []Row
	for rows.Next() {
		if len(out) == MaxRows {
			return nil, cols, fmt.Errorf("the query returns more than %d rows", MaxRows)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, cols, fmt.Errorf("read a row: %w", err)
		}
		row = Row{}
		for i, v := range vals {
			if v.Valid {
				s := v.String
				*targets[i] = &s
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, cols, fmt.Errorf("read the rows: %w", err)
	}
	return out, cols, nil
}
