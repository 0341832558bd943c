package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Batched writes in plain SQL.
//
// A batch of rows travels as one JSON parameter, an array of arrays, that
// the statement unpacks: jsonb_each on SQLite, JSON_TABLE on MariaDB/MySQL.
// So a statement's text does not grow with its rows, and a batch of any
// size is a handful of statements: one per maxBatchBytes of JSON. The
// pure-Go SQLite compiles every statement anew on each execution and binds
// parameters in time quadratic in their number; MariaDB parses a statement
// of thousands of placeholders (or UNION ALL branches) slower than it reads
// the same rows from JSON.

// sqliteTime is how the SQLite driver writes times, so that reads parse them
// back and text comparisons order them.
const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

// mysqlTime is how a time is written in a batch for MySQL (UTC, as the
// connection reads and writes them).
const mysqlTime = "2006-01-02 15:04:05.999999"

// maxBatchBytes bounds the JSON of one batched statement: well inside
// MariaDB's default max_allowed_packet (16 MiB), large enough that a batch
// of a hundred thousand rows is a few statements.
const maxBatchBytes = 4 << 20

// onConflict is an INSERT's conflict clause in each dialect.
type onConflict struct{ sqlite, mysql string }

// rowSource is a batch of rows as a table of the statement: what follows
// FROM, and the expression of each column. It takes one parameter, the
// rows' JSON.
type rowSource struct {
	from string
	cols []string
}

// source returns how a statement reads rows whose values have the Go types
// of sample (one value per column, nil where unknown) as table alias.
func (s *Store) source(sample []any, alias string) rowSource {
	cols := make([]string, len(sample))
	if s.db.dialect == SQLite {
		for i := range sample {
			cols[i] = fmt.Sprintf("%s.value->>%d", alias, i)
		}
		return rowSource{from: "jsonb_each(?) AS " + alias, cols: cols}
	}
	defs := make([]string, len(sample))
	for i, v := range sample {
		cols[i] = fmt.Sprintf("%s.c%d", alias, i)
		defs[i] = fmt.Sprintf("c%d %s PATH '$[%d]'", i, mysqlType(v), i)
	}
	return rowSource{from: fmt.Sprintf("JSON_TABLE(?, '$[*]' COLUMNS (%s)) AS %s", strings.Join(defs, ", "), alias), cols: cols}
}

// sampleRow returns, for each column of rows that sel names, a value that
// is not nil where any row has one: what source needs to type the columns.
func sampleRow(rows [][]any, sel []int) []any {
	out := make([]any, len(sel))
	missing := len(out)
	for _, r := range rows {
		for i, c := range sel {
			if v := r[c]; out[i] == nil && !isNil(v) {
				out[i] = v
				missing--
			}
		}
		if missing == 0 {
			break
		}
	}
	return out
}

// eachBatch encodes rows (the columns sel names, all when nil) as JSON in
// batches of at most maxBatchBytes (a row larger than that alone) and
// calls fn with each.
func (s *Store) eachBatch(rows [][]any, sel []int, fn func(data string) error) error {
	buf := make([]byte, 0, min(maxBatchBytes+64<<10, 256*len(rows)+2))
	buf = append(buf, '[')
	n := 0
	for _, r := range rows {
		mark := len(buf)
		if n > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = s.appendRow(buf, r, sel); err != nil {
			return err
		}
		if n > 0 && len(buf) > maxBatchBytes {
			// This row does not fit: send the batch without it.
			row := append([]byte(nil), buf[mark+1:]...)
			if err := fn(string(append(buf[:mark], ']'))); err != nil {
				return err
			}
			buf = append(append(buf[:0], '['), row...)
			n = 1
			continue
		}
		n++
	}
	if n == 0 {
		return nil
	}
	return fn(string(append(buf, ']')))
}

// insertRows inserts rows (values in the order of cols) into table. A
// column with one value in every row (the batch's time, its actor) is a
// parameter of the statement rather than a field of every row's JSON.
func (s *Store) insertRows(tx *gorm.DB, table string, cols []string, rows [][]any, conflict onConflict) error {
	if len(rows) == 0 {
		return nil
	}
	same := constCols(rows, 0)
	vary := varying(same)
	src := s.source(sampleRow(rows, vary), "v")
	sel := make([]string, len(cols))
	var params []any
	for i, k := 0, 0; i < len(cols); i++ {
		if same[i] {
			sel[i] = "?"
			params = append(params, s.param(rows[0][i]))
			continue
		}
		sel[i] = src.cols[k]
		k++
	}
	clause := conflict.mysql
	where := ""
	if s.db.dialect == SQLite {
		// "WHERE true" lets SQLite tell the upsert's ON from a join's.
		clause, where = conflict.sqlite, " WHERE true"
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s%s %s",
		table, strings.Join(cols, ", "), strings.Join(sel, ", "), src.from, where, clause)
	return s.eachBatch(rows, vary, func(data string) error {
		return tx.Exec(q, append(params[:len(params):len(params)], data)...).Error
	})
}

// updateRows overwrites the set columns of existing rows of table, found by
// their key columns; each row holds the key values, then the set values.
// Rows that do not exist are left out: an UPDATE joined to the batch
// (UPDATE … FROM on SQLite). A set column with one value in every row is a
// parameter of the statement.
func (s *Store) updateRows(tx *gorm.DB, table string, keys, set []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	same := constCols(rows, len(keys))
	vary := varying(same)
	src := s.source(sampleRow(rows, vary), "v")
	col := make([]string, len(keys)+len(set)) // each column's expression
	var params []any
	for i, k := 0, 0; i < len(col); i++ {
		if same[i] {
			col[i] = "?"
			params = append(params, s.param(rows[0][i]))
			continue
		}
		col[i] = src.cols[k]
		k++
	}
	on := make([]string, len(keys))
	assign := make([]string, len(set))
	var q string
	sqlite := s.db.dialect == SQLite
	for i, k := range keys {
		if sqlite {
			on[i] = fmt.Sprintf("%s.%s = %s", table, k, col[i])
		} else {
			on[i] = fmt.Sprintf("t.%s = %s", k, col[i])
		}
	}
	for i, c := range set {
		if sqlite {
			assign[i] = fmt.Sprintf("%s = %s", c, col[len(keys)+i])
		} else {
			assign[i] = fmt.Sprintf("t.%s = %s", c, col[len(keys)+i])
		}
	}
	if sqlite {
		q = fmt.Sprintf("UPDATE %s SET %s FROM %s WHERE %s", table, strings.Join(assign, ", "), src.from, strings.Join(on, " AND "))
	} else {
		// STRAIGHT_JOIN: the batch first, each row found by its key. The
		// statement is the same for every size of batch, so the optimizer,
		// estimating a JSON_TABLE at 40 rows, may otherwise scan a table it
		// believes small (its statistics not yet caught up) once per row.
		q = fmt.Sprintf("UPDATE %s STRAIGHT_JOIN %s AS t ON %s SET %s", src.from, table, strings.Join(on, " AND "), strings.Join(assign, ", "))
	}
	return s.eachBatch(rows, vary, func(data string) error {
		// SET's parameters come before the batch on SQLite, after it on
		// MySQL (whose batch is in the table list).
		args := append([]any{data}, params...)
		if sqlite {
			args = append(params[:len(params):len(params)], data)
		}
		return tx.Exec(q, args...).Error
	})
}

// overwriteRows overwrites the set columns of rows of table known to
// exist (read under their lock in this transaction), found by their key
// columns; each row holds the key values, then the set values.
//
// On MariaDB/MySQL it is an upsert, INSERT … ON DUPLICATE KEY UPDATE, that
// meets each row once, by its key: updateRows' multi-table UPDATE, whose
// target is not the first table of its join, collects the rows it
// changes in a temporary table and reads each again. On SQLite it is
// updateRows: its upsert measured slower than UPDATE … FROM. A row that
// does not exist after all is inserted on MySQL, left out on SQLite.
func (s *Store) overwriteRows(tx *gorm.DB, table string, keys, set []string, rows [][]any) error {
	if s.db.dialect == SQLite {
		return s.updateRows(tx, table, keys, set, rows)
	}
	assign := make([]string, len(set))
	for i, c := range set {
		assign[i] = fmt.Sprintf("%s = VALUES(%s)", c, c)
	}
	conflict := onConflict{mysql: "ON DUPLICATE KEY UPDATE " + strings.Join(assign, ", ")}
	return s.insertRows(tx, table, append(keys[:len(keys):len(keys)], set...), rows, conflict)
}

// constCols reports the columns, from the first-th on, whose value is the
// same in every row; never all of them (a batch needs one column).
func constCols(rows [][]any, first int) []bool {
	same := make([]bool, len(rows[0]))
	if len(rows) < 2 {
		return same
	}
	n := 0
	for i := first; i < len(same); i++ {
		same[i] = true
		for _, r := range rows[1:] {
			if !sameValue(rows[0][i], r[i]) {
				same[i] = false
				break
			}
		}
		if same[i] {
			n++
		}
	}
	if n == len(same) {
		same[0] = false
	}
	return same
}

// varying lists the columns same does not mark.
func varying(same []bool) []int {
	var out []int
	for i, c := range same {
		if !c {
			out = append(out, i)
		}
	}
	return out
}

// param is a value bound as a statement's parameter, as the batch's JSON
// would carry it.
func (s *Store) param(v any) any {
	switch x := v.(type) {
	case *string:
		if x == nil {
			return nil
		}
		return *x
	case *int64:
		if x == nil {
			return nil
		}
		return *x
	case *time.Time:
		if x == nil {
			return nil
		}
		return s.param(*x)
	case time.Time:
		if s.db.dialect == SQLite {
			return x.UTC().Format(sqliteTime)
		}
		return x.UTC()
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
		data, _ := appendJSONList(nil, values)
		return col + " IN (SELECT value FROM json_each(?))", string(data)
	}
	return col + " IN ?", values
}
