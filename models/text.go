package models

import (
	"strings"
	"unicode/utf8"
)

// Truncate shortens s to at most maxRunes characters, a shortened text
// ending in "…" (counted among them). It never cuts a character in two, and
// invalid UTF-8 in s comes out as U+FFFD, so the result is valid UTF-8
// whatever s held: MySQL refuses a row with a broken character.
func Truncate(s string, maxRunes int) string {
	if maxRunes <= 0 {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= maxRunes { // no more bytes than the limit: no more runes either
		return s
	}
	cut, n := 0, 0
	for i := range s {
		switch n {
		case maxRunes - 1:
			cut = i
		case maxRunes:
			return s[:cut] + "…"
		}
		n++
	}
	return s
}
