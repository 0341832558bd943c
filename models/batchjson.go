package models

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON of a batch (batch.go), written by hand: encoding/json through
// []any reflects on every value, which was a tenth of a large batch's
// time.

// appendRow appends the columns sel names of one row (all when sel is
// nil) as a JSON array: times in the dialect's text, booleans as 1 and 0,
// nil pointers as null.
func (s *Store) appendRow(buf []byte, row []any, sel []int) ([]byte, error) {
	buf = append(buf, '[')
	n := len(row)
	if sel != nil {
		n = len(sel)
	}
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		v := row[i]
		if sel != nil {
			v = row[sel[i]]
		}
		var err error
		if buf, err = s.appendValue(buf, v); err != nil {
			return buf, err
		}
	}
	return append(buf, ']'), nil
}

// sameValue reports whether a and b are the same value of a type
// appendValue knows (false for any other).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case *string:
		y, ok := b.(*string)
		return ok && (x == nil) == (y == nil) && (x == nil || *x == *y)
	case int:
		y, ok := b.(int)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case *int64:
		y, ok := b.(*int64)
		return ok && (x == nil) == (y == nil) && (x == nil || *x == *y)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *time.Time:
		y, ok := b.(*time.Time)
		return ok && (x == nil) == (y == nil) && (x == nil || x.Equal(*y))
	}
	return false
}

func (s *Store) appendValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return appendJSONString(buf, x), nil
	case *string:
		if x == nil {
			return append(buf, "null"...), nil
		}
		return appendJSONString(buf, *x), nil
	case []byte:
		if x == nil {
			return append(buf, "null"...), nil
		}
		return appendJSONString(buf, string(x)), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case *int64:
		if x == nil {
			return append(buf, "null"...), nil
		}
		return strconv.AppendInt(buf, *x, 10), nil
	case bool:
		if x {
			return append(buf, '1'), nil
		}
		return append(buf, '0'), nil
	case time.Time:
		return s.appendTime(buf, x), nil
	case *time.Time:
		if x == nil {
			return append(buf, "null"...), nil
		}
		return s.appendTime(buf, *x), nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return buf, fmt.Errorf("encode batch value %T: %w", v, err)
	}
	return append(buf, data...), nil
}

func (s *Store) appendTime(buf []byte, t time.Time) []byte {
	layout := mysqlTime
	if s.db.dialect == SQLite {
		layout = sqliteTime
	}
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, layout)
	return append(buf, '"')
}

// isNil reports whether v is nil or a nil pointer of a type appendValue
// knows.
func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *string:
		return x == nil
	case *int64:
		return x == nil
	case *time.Time:
		return x == nil
	case []byte:
		return x == nil
	}
	return false
}

// mysqlType is the JSON_TABLE column type of a batch column holding values
// like v.
func mysqlType(v any) string {
	switch v.(type) {
	case int, int32, int64, *int64, bool:
		return "BIGINT"
	case time.Time, *time.Time:
		return "DATETIME(6)"
	case float32, float64:
		return "DOUBLE"
	}
	return "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// appendJSONList appends a list of ids or strings as a JSON array.
func appendJSONList(buf []byte, values any) ([]byte, error) {
	switch xs := values.(type) {
	case []int64:
		buf = append(buf, '[')
		for i, x := range xs {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, x, 10)
		}
		return append(buf, ']'), nil
	case []string:
		buf = append(buf, '[')
		for i, x := range xs {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, x)
		}
		return append(buf, ']'), nil
	}
	data, err := json.Marshal(values)
	return append(buf, data...), err
}
