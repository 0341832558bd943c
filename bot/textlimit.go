package bot

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// Telegram's limits on what the bot sends (issue 14 #5): refused texts
// are cut or cleaned before they go, so that a notice is never lost to
// "message is too long" or TAG_EMOJI_NOT_ALLOWED.
const (
	// maxMessageUnits is a message's limit, in UTF-16 code units (what
	// Telegram counts: an emoji outside the BMP is two).
	maxMessageUnits = 4096
	// maxTagRunes is a member tag's limit.
	maxTagRunes = 16
)

// fitMessage cuts text to Telegram's 4096 UTF-16 code units, ending it
// with "…" when cut, never inside a character.
func fitMessage(text string) string {
	if utf16Len(text) <= maxMessageUnits {
		return text
	}
	const ellipsis = "…" // one unit
	budget := maxMessageUnits - utf16Len(ellipsis)
	var b strings.Builder
	n := 0
	for _, r := range text {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1 // an invalid rune travels as U+FFFD
		}
		if n+w > budget {
			break
		}
		n += w
		b.WriteRune(r)
	}
	return strings.TrimRightFunc(b.String(), unicode.IsSpace) + ellipsis
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}

// cleanTag makes a rendered member tag one Telegram accepts: emoji and
// other pictographs (TAG_EMOJI_NOT_ALLOWED) and invisible joiners and
// selectors left by them are dropped, spaces folded, and the result cut
// to 16 characters (TAG_INVALID).
func cleanTag(tag string) string {
	var b strings.Builder
	for _, r := range tag {
		if isEmoji(r) {
			b.WriteRune(' ')
			continue
		}
		b.WriteRune(r)
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	if r := []rune(out); len(r) > maxTagRunes {
		out = strings.TrimSpace(string(r[:maxTagRunes]))
	}
	return out
}

// isEmoji reports whether r is an emoji, a pictograph, or a part of one
// (joiner, variation selector, skin tone, keycap, regional indicator).
func isEmoji(r rune) bool {
	switch {
	case r == 0x200D, r == 0x20E3, r >= 0xFE00 && r <= 0xFE0F: // ZWJ, keycap, variation selectors
		return true
	case unicode.Is(unicode.So, r): // other symbols: Telegram refuses those too
		return true
	case r >= 0x1F000 && r <= 0x1FAFF: // mahjong to symbols and pictographs extended-A (skin tones, flags' letters included)
		return true
	case r >= 0x2600 && r <= 0x27BF: // miscellaneous symbols, dingbats
		return true
	case r >= 0x2B00 && r <= 0x2BFF, r >= 0x2300 && r <= 0x23FF: // arrows and stars, technical (⌚ ⏰)
		return true
	case r >= 0xE0020 && r <= 0xE007F: // tag characters (subdivision flags)
		return true
	case r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139, r >= 0x2194 && r <= 0x21AA, r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
		return true
	}
	return false
}
