package models

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Batched writes in plain SQL, where the two databases want different SQL.
//
// MySQL gets multi-row INSERT … VALUES statements. SQLite gets one JSON
// parameter that the statement unpacks with json_each: the pure-Go SQLite
// compiles every statement anew on each execution, binds parameters in time
// quadratic in their number and maps and unmaps memory for large programs,
// so a statement whose size does not grow with the rows is several times
// faster there.

// sqliteTime is how the SQLite driver writes times, so that reads parse them
// back and text comparisons order them.
const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

// onConflict is an INSERT's conflict clause in each dialect.
type onConflict struct{ sqlite, mysql string }

// insertRows inserts rows (values in the order of cols) into table.
func (s *Store) insertRows(tx *gorm.DB, table string, cols []string, rows [][]any, conflict onConflict) error {
	if len(rows) == 0 {
		return nil
	}
	if s.db.dialect == SQLite {
		return chunks(rows, 5000, func(part [][]any) error {
			for _, r := range part {
				for i, v := range r {
					r[i] = sqliteValue(v)
				}
			}
			data, err := json.Marshal(part)
			if err != nil {
				return fmt.Errorf("encode %s rows: %w", table, err)
			}
			sel := make([]string, len(cols))
			for i := range cols {
				sel[i] = fmt.Sprintf("value->>%d", i)
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM json_each(jsonb(?)) WHERE true %s",
				table, strings.Join(cols, ", "), strings.Join(sel, ", "), conflict.sqlite)
			return tx.Exec(q, string(data)).Error
		})
	}
	return chunks(rows, chunkSize, func(part [][]any) error {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		args := make([]any, 0, len(part)*len(cols))
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, r...)
		}
		b.WriteString(" ")
		b.WriteString(conflict.mysql)
		return tx.Exec(b.String(), args...).Error
	})
}

// updateRows overwrites the set columns of existing rows of table, found by
// their key columns; each row holds the key values, then the set values.
// Rows that do not exist are left out. On MySQL an UPDATE joins a derived
// table of the new values (the portable form: MariaDB has no row alias for
// INSERT … ON DUPLICATE KEY UPDATE, and MySQL deprecates VALUES() there); on
// SQLite an UPDATE … FROM unpacks one JSON parameter.
func (s *Store) updateRows(tx *gorm.DB, table string, keys, set []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	on := make([]string, len(keys))
	assign := make([]string, len(set))
	if s.db.dialect == SQLite {
		for i, k := range keys {
			on[i] = fmt.Sprintf("%s.%s = v.value->>%d", table, k, i)
		}
		for i, c := range set {
			assign[i] = fmt.Sprintf("%s = v.value->>%d", c, len(keys)+i)
		}
		q := fmt.Sprintf("UPDATE %s SET %s FROM json_each(jsonb(?)) AS v WHERE %s",
			table, strings.Join(assign, ", "), strings.Join(on, " AND "))
		return chunks(rows, 5000, func(part [][]any) error {
			for _, r := range part {
				for i, v := range r {
					r[i] = sqliteValue(v)
				}
			}
			data, err := json.Marshal(part)
			if err != nil {
				return fmt.Errorf("encode %s rows: %w", table, err)
			}
			return tx.Exec(q, string(data)).Error
		})
	}
	for i, k := range keys {
		on[i] = fmt.Sprintf("t.%s = v.%s", k, k)
	}
	for i, c := range set {
		assign[i] = fmt.Sprintf("t.%s = v.%s", c, c)
	}
	cols := append(append([]string{}, keys...), set...)
	first := make([]string, len(cols))
	for i, c := range cols {
		first[i] = "? AS " + c
	}
	head := "SELECT " + strings.Join(first, ", ")
	next := " UNION ALL SELECT " + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	return chunks(rows, chunkSize, func(part [][]any) error {
		var b strings.Builder
		fmt.Fprintf(&b, "UPDATE %s AS t JOIN (%s", table, head)
		args := make([]any, 0, len(part)*len(cols))
		for i, r := range part {
			if i > 0 {
				b.WriteString(next)
			}
			args = append(args, r...)
		}
		fmt.Fprintf(&b, ") AS v ON %s SET %s", strings.Join(on, " AND "), strings.Join(assign, ", "))
		return tx.Exec(b.String(), args...).Error
	})
}

// sqliteValue turns a Go value into what JSON should carry for SQLite.
func sqliteValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(sqliteTime)
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC().Format(sqliteTime)
	case bool:
		if x {
			return 1
		}
		return 0
	}
	return v
}

// in returns a condition "col IN (values)" and its argument: a JSON list
// unpacked by json_each on SQLite, a plain list on MySQL.
func (s *Store) in(col string, values any) (string, any) {
	if s.db.dialect == SQLite {
		data, _ := json.Marshal(values)
		return col + " IN (SELECT value FROM json_each(?))", string(data)
	}
	return col + " IN ?", values
}
