package api

import (
	"fmt"
	"testing"
)

func TestIDSet_Add(t *testing.T) {
	s := newIDSet()
	const n = 100_000
	for i := range n {
		if at, ok := s.add(fmt.Sprintf("u%d", i), i); !ok || at != i {
			t.Fatalf("add u%d = %d %v, want new", i, at, ok)
		}
	}
	for _, i := range []int{0, 1, 999, 65_536, n - 1} {
		if at, ok := s.add(fmt.Sprintf("u%d", i), n+i); ok || at != i {
			t.Errorf("add u%d again = %d %v, want entry %d", i, at, ok, i)
		}
	}
	if at, ok := s.add("", 7); !ok || at != 7 {
		t.Errorf("add empty id = %d %v", at, ok)
	}
	if _, ok := s.add("", 8); ok {
		t.Errorf("the empty id added twice")
	}
}
