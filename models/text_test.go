package models_test

import (
	"testing"
	"unicode/utf8"

	"github.com/karmagate/karmagate/models"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"short", "abc", 5, "abc"},
		{"exactly the limit", "abcde", 5, "abcde"},
		{"ascii cut", "abcdef", 5, "abcd…"},
		{"multibyte within the limit", "€€€", 3, "€€€"},
		{"multibyte cut on a character", "€€€€€", 3, "€€…"},
		{"four-byte characters", "😀😀😀😀", 2, "😀…"},
		{"fewer bytes than characters allowed", "é", 4, "é"},
		{"invalid bytes become U+FFFD", "Caf\xe9", 10, "Caf\uFFFD"},
		{"invalid bytes then a cut", "\xff\xfe" + "abcdef", 4, "\uFFFDab…"},
		{"a rune cut before", "ab\xe2\x82", 3, "ab\uFFFD"},
		{"one character allowed", "ab", 1, "…"},
		{"nothing allowed", "ab", 0, ""},
		{"empty", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := models.Truncate(tt.s, tt.max)
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tt.max, 0) {
				t.Errorf("Truncate(%q, %d) = %q: invalid or over the limit", tt.s, tt.max, got)
			}
		})
	}
}
