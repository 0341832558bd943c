package botapi

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Formatted text: parse_mode HTML, MarkdownV2 and Markdown turned into plain
// text and entities the way Telegram does, and refused where Telegram
// refuses ("Bad Request: can't parse entities: …"). Entity offsets and
// lengths count UTF-16 code units.

// textBuilder accumulates plain text and tracks its UTF-16 length.
type textBuilder struct {
	b      strings.Builder
	utf16n int
}

func (t *textBuilder) writeString(s string) {
	t.b.WriteString(s)
	for _, r := range s {
		t.utf16n += utf16.RuneLen(r)
	}
}

func (t *textBuilder) writeRune(r rune) {
	t.b.WriteRune(r)
	t.utf16n += utf16.RuneLen(r)
}

func parseError(format string, args ...any) error {
	return badRequest("can't parse entities: " + fmt.Sprintf(format, args...))
}

// formatText applies parse_mode to text.
func formatText(text, mode string) (string, []world.Entity, error) {
	switch strings.ToLower(mode) {
	case "":
		return text, nil, nil
	case "html":
		return parseHTML(text)
	case "markdownv2":
		return parseMarkdownV2(text)
	case "markdown":
		return parseMarkdown(text)
	}
	return "", nil, badRequest("unsupported parse_mode")
}

var htmlTags = map[string]string{
	"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
	"span": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
	"tg-emoji": "custom_emoji",
}

var hrefRE = regexp.MustCompile(`(?i)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)

type openTag struct {
	name   string
	start  int // UTF-16 offset in the output
	offset int // byte offset in the input
	url    string
}

func parseHTML(text string) (string, []world.Entity, error) {
	var out textBuilder
	var stack []openTag
	var entities []world.Entity
	for i := 0; i < len(text); {
		c := text[i]
		switch c {
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return "", nil, parseError("Unclosed start tag at byte offset %d", i)
			}
			tag := text[i+1 : i+end]
			if closing, ok := strings.CutPrefix(tag, "/"); ok {
				name := strings.ToLower(strings.TrimSpace(closing))
				if len(stack) == 0 {
					return "", nil, parseError("Unexpected end tag at byte offset %d", i)
				}
				top := stack[len(stack)-1]
				if name != top.name {
					return "", nil, parseError("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, top.name, name)
				}
				stack = stack[:len(stack)-1]
				if n := out.utf16n - top.start; n > 0 && htmlTags[top.name] != "custom_emoji" {
					e := world.Entity{Type: htmlTags[top.name], Offset: top.start, Length: n, URL: top.url}
					if e.Type == "text_link" && e.URL == "" {
						e.Type = ""
					}
					if e.Type != "" {
						entities = append(entities, e)
					}
				}
			} else {
				name, attrs, _ := strings.Cut(strings.TrimSpace(tag), " ")
				name = strings.ToLower(name)
				if _, ok := htmlTags[name]; !ok {
					return "", nil, parseError("Unsupported start tag \"%s\" at byte offset %d", name, i)
				}
				ot := openTag{name: name, start: out.utf16n, offset: i}
				switch name {
				case "a":
					if m := hrefRE.FindStringSubmatch(attrs); m != nil {
						ot.url = html.UnescapeString(m[1] + m[2] + m[3])
					}
				case "span":
					if !strings.Contains(attrs, "tg-spoiler") {
						return "", nil, parseError("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", i)
					}
				}
				stack = append(stack, ot)
			}
			i += end + 1
		case '&':
			semi := strings.IndexByte(text[i:], ';')
			if semi > 0 && semi < 10 {
				if r, ok := htmlEntity(text[i+1 : i+semi]); ok {
					out.writeRune(r)
					i += semi + 1
					continue
				}
			}
			out.writeRune('&')
			i++
		default:
			r, size := utf8.DecodeRuneInString(text[i:])
			out.writeRune(r)
			i += size
		}
	}
	if len(stack) > 0 {
		return "", nil, parseError("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name)
	}
	return out.b.String(), sortEntities(entities), nil
}

func htmlEntity(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	}
	if n, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if h, ok := strings.CutPrefix(strings.ToLower(n), "x"); ok {
			n, base = h, 16
		}
		v, err := strconv.ParseInt(n, base, 32)
		if err == nil && v > 0 && v <= utf8.MaxRune {
			return rune(v), true
		}
	}
	return 0, false
}

// sortEntities orders entities by offset, outer before inner, as Telegram.
func sortEntities(es []world.Entity) []world.Entity {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0; j-- {
			a, b := es[j-1], es[j]
			if a.Offset < b.Offset || (a.Offset == b.Offset && a.Length >= b.Length) {
				break
			}
			es[j-1], es[j] = b, a
		}
	}
	return es
}

const mdV2Reserved = "_*[]()~`>#+-=|{}.!"

var mdV2Names = map[string]string{"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler", "`": "Code", "```": "Pre", "[": "TextUrl"}
var mdV2Types = map[string]string{"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler", "`": "code", "```": "pre"}

func parseMarkdownV2(text string) (string, []world.Entity, error) {
	var out textBuilder
	var stack []openTag
	var entities []world.Entity
	open := func(mark string, i int) { stack = append(stack, openTag{name: mark, start: out.utf16n, offset: i}) }
	closeTop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n := out.utf16n - top.start; n > 0 {
			entities = append(entities, world.Entity{Type: mdV2Types[top.name], Offset: top.start, Length: n})
		}
	}
	inCode := func() bool {
		return len(stack) > 0 && (stack[len(stack)-1].name == "`" || stack[len(stack)-1].name == "```")
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\\' && i+1 < len(text) {
			r, size := utf8.DecodeRuneInString(text[i+1:])
			out.writeRune(r)
			i += 1 + size
			continue
		}
		if inCode() {
			mark := stack[len(stack)-1].name
			if strings.HasPrefix(text[i:], mark) {
				closeTop()
				i += len(mark)
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			out.writeRune(r)
			i += size
			continue
		}
		var mark string
		switch {
		case strings.HasPrefix(text[i:], "```"):
			mark = "```"
		case strings.HasPrefix(text[i:], "||"):
			mark = "||"
		case strings.HasPrefix(text[i:], "__"):
			mark = "__"
		case c == '*' || c == '_' || c == '~' || c == '`':
			mark = string(c)
		}
		if mark != "" {
			if n := len(stack); n > 0 && stack[n-1].name == mark {
				closeTop()
			} else {
				open(mark, i)
			}
			i += len(mark)
			continue
		}
		switch c {
		case '[':
			open("[", i)
			i++
			continue
		case ']':
			if n := len(stack); n > 0 && stack[n-1].name == "[" && strings.HasPrefix(text[i:], "](") {
				end := strings.IndexByte(text[i:], ')')
				if end < 0 {
					return "", nil, parseError("Can't find end of a URL at byte offset %d", i+1)
				}
				top := stack[n-1]
				stack = stack[:n-1]
				url := strings.ReplaceAll(text[i+2:i+end], `\)`, ")")
				if l := out.utf16n - top.start; l > 0 {
					entities = append(entities, world.Entity{Type: "text_link", Offset: top.start, Length: l, URL: url})
				}
				i += end + 1
				continue
			}
		case '>':
			if i == 0 || text[i-1] == '\n' {
				i++ // a block quote marker
				continue
			}
		}
		if strings.IndexByte(mdV2Reserved, c) >= 0 {
			return "", nil, parseError("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		out.writeRune(r)
		i += size
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return "", nil, parseError("Can't find end of %s entity at byte offset %d", mdV2Names[top.name], top.offset)
	}
	return out.b.String(), sortEntities(entities), nil
}

// parseMarkdown is the legacy Markdown: *bold*, _italic_, `code`,
// ```pre```, [text](url); no nesting.
func parseMarkdown(text string) (string, []world.Entity, error) {
	var out textBuilder
	var entities []world.Entity
	types := map[string]string{"*": "bold", "_": "italic", "`": "code", "```": "pre"}
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\\' && i+1 < len(text) && strings.IndexByte("*_`[", text[i+1]) >= 0 {
			out.writeRune(rune(text[i+1]))
			i += 2
			continue
		}
		mark := ""
		switch {
		case strings.HasPrefix(text[i:], "```"):
			mark = "```"
		case c == '*' || c == '_' || c == '`':
			mark = string(c)
		case c == '[':
			closeText := strings.Index(text[i:], "](")
			if closeText < 0 {
				return "", nil, parseError("Can't find end of the entity starting at byte offset %d", i)
			}
			closeURL := strings.IndexByte(text[i+closeText:], ')')
			if closeURL < 0 {
				return "", nil, parseError("Can't find end of the entity starting at byte offset %d", i)
			}
			start := out.utf16n
			out.writeString(text[i+1 : i+closeText])
			if l := out.utf16n - start; l > 0 {
				entities = append(entities, world.Entity{Type: "text_link", Offset: start, Length: l, URL: text[i+closeText+2 : i+closeText+closeURL]})
			}
			i += closeText + closeURL + 1
			continue
		}
		if mark == "" {
			r, size := utf8.DecodeRuneInString(text[i:])
			out.writeRune(r)
			i += size
			continue
		}
		end := strings.Index(text[i+len(mark):], mark)
		if end < 0 {
			return "", nil, parseError("Can't find end of the entity starting at byte offset %d", i)
		}
		start := out.utf16n
		out.writeString(text[i+len(mark) : i+len(mark)+end])
		if l := out.utf16n - start; l > 0 {
			entities = append(entities, world.Entity{Type: types[mark], Offset: start, Length: l})
		}
		i += len(mark) + end + len(mark)
	}
	return out.b.String(), entities, nil
}
