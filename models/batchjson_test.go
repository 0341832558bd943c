package models

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAppendJSONString: a batch's strings decode to what encoding/json
// would carry, control characters, quotes and invalid UTF-8 included.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
		"ünïcødé ✓ 🎉", "\u2028\u2029", "bad \xff utf-8 \xc3", "<html>&amp;"} {
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Errorf("%q: not JSON: %v (%s)", s, err, appendJSONString(nil, s))
			continue
		}
		data, _ := json.Marshal(s)
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q: decodes to %q, want %q", s, got, want)
		}
	}
}

// TestConstCols: a column is bound once only when every row has the same
// value; never every column; never a key column of an update.
func TestConstCols(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s, t2 := "x", "x"
	tests := []struct {
		name  string
		rows  [][]any
		first int
		want  []bool
	}{
		{"one row", [][]any{{1, "a"}}, 0, []bool{false, false}},
		{"same time, pointers to equal strings", [][]any{{int64(1), at, &s}, {int64(2), at.In(time.FixedZone("x", 3600)), &t2}}, 0, []bool{false, true, true}},
		{"nil and a value differ", [][]any{{int64(1), nil}, {int64(2), &s}}, 0, []bool{false, false}},
		{"every column the same", [][]any{{int64(1), "a"}, {int64(1), "a"}}, 0, []bool{false, true}},
		{"keys stay", [][]any{{int64(1), "a"}, {int64(1), "a"}}, 1, []bool{false, true}},
		{"unknown type", [][]any{{int64(1), 1.5}, {int64(2), 1.5}}, 0, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := constCols(tt.rows, tt.first)
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("constCols = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestEachBatch: rows go out in batches of valid JSON of at most
// maxBatchBytes (a larger row alone), every row once, in order.
func TestEachBatch(t *testing.T) {
	s := &Store{db: &DB{dialect: MySQL}}
	big := string(make([]byte, maxBatchBytes+10))
	var rows [][]any
	for i := range 3000 {
		v := "row"
		if i == 1500 {
			v = big
		}
		rows = append(rows, []any{int64(i), v, string(make([]byte, 3000))})
	}
	next := int64(0)
	calls := 0
	err := s.eachBatch(rows, []int{0, 1}, func(data string) error {
		calls++
		var got [][]any
		if err := json.Unmarshal([]byte(data), &got); err != nil {
			t.Fatalf("batch %d: %v", calls, err)
		}
		if len(data) > maxBatchBytes && len(got) > 1 {
			t.Errorf("batch %d: %d bytes in %d rows", calls, len(data), len(got))
		}
		for _, r := range got {
			if len(r) != 2 || int64(r[0].(float64)) != next {
				t.Fatalf("batch %d: row %v, want id %d", calls, r[0], next)
			}
			next++
		}
		return nil
	})
	if err != nil || next != 3000 || calls < 2 {
		t.Errorf("eachBatch: %v, %d rows in %d batches", err, next, calls)
	}
}
