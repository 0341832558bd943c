package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/karmagate/karmagate/models"
)

// A strict reader for the JSON the API takes: objects of a few fields (a
// member, a delta, an override) and, in bulk, many of them in a row.
// encoding/json keeps the last of two equal names and turns invalid UTF-8
// into U+FFFD; this reader refuses both while it checks the syntax, in one
// pass, and can read a value that has only partly arrived (errShort).

// maxJSONDepth bounds nesting (a member nests three levels at most).
const maxJSONDepth = 64

// jsonField is one name and value at the top level of a JSON object. Both
// are sub-slices of the input (name is decoded when it held escapes).
type jsonField struct {
	name []byte
	val  []byte // the value as sent; valid JSON
	off  int64  // where val starts in the body
}

var (
	// errShort means the input ended inside a value while more may come.
	errShort = errors.New("json: more input needed")
	// errEnd means the body ended inside a value.
	errEnd = errors.New("json: body ends too early")
)

// jsonSyntaxError is malformed JSON at a byte of the body.
type jsonSyntaxError struct {
	off int64
	msg string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.off, e.msg)
}

// jsonTextError is a string that is not valid Unicode text: invalid UTF-8 or
// half of a UTF-16 surrogate pair. field is the top-level field it is in.
type jsonTextError struct {
	msg    string
	field  string
	inName bool // in a field name
}

func (e *jsonTextError) Error() string { return e.msg }

// jsonDupError is a field name given twice in one object.
type jsonDupError struct{ field string }

func (e *jsonDupError) Error() string { return fmt.Sprintf("%q is given twice", e.field) }

// jsonScanner reads JSON from b, checking it as it goes. Malformed JSON
// stops it; a string that is not valid text or a name given twice is noted
// in bad and reading goes on, so that a bulk import can list every bad
// member.
type jsonScanner struct {
	b     []byte
	i     int   // next byte to read
	base  int64 // offset of b[0] in the body, for messages
	final bool  // b reaches the end of the body
	depth int
	bad   error // the first *jsonTextError or *jsonDupError
}

func (s *jsonScanner) note(err error) {
	if s.bad == nil {
		s.bad = err
	}
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// short is the error for running out of input at s.i.
func (s *jsonScanner) short() error {
	if s.final {
		return errEnd
	}
	return errShort
}

func (s *jsonScanner) fail(format string, args ...any) error {
	return &jsonSyntaxError{off: s.base + int64(s.i), msg: fmt.Sprintf(format, args...)}
}

// unexpected reports the byte at s.i where want was expected.
func (s *jsonScanner) unexpected(want string) error {
	if s.i >= len(s.b) || (!s.final && len(s.b)-s.i < len(utf8BOM) && bytes.HasPrefix(utf8BOM, s.b[s.i:])) {
		return s.short()
	}
	return s.fail("expected %s, found %s", want, describeByte(s.b[s.i:]))
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// describeByte names the byte at the start of b for a message.
func describeByte(b []byte) string {
	c := b[0]
	switch {
	case bytes.HasPrefix(b, utf8BOM):
		return "a UTF-8 byte order mark (EF BB BF)"
	case c > ' ' && c < 0x7f:
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02X", c)
}

// value reads one JSON value of any kind.
func (s *jsonScanner) value() error {
	if s.i >= len(s.b) {
		return s.short()
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(nil)
	case c == '[':
		return s.array()
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.unexpected("a value")
}

// object reads an object; each, when given, sees every top-level field.
func (s *jsonScanner) object(each func(name []byte, esc bool, val []byte, off int64) error) error {
	if s.depth++; s.depth > maxJSONDepth {
		return s.fail("nested deeper than %d levels", maxJSONDepth)
	}
	s.i++ // '{'
	s.ws()
	if s.i >= len(s.b) {
		return s.short()
	}
	if s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.i >= len(s.b) {
			return s.short()
		}
		if s.b[s.i] != '"' {
			return s.unexpected("a field name in double quotes")
		}
		start, before := s.i, s.bad
		esc, err := s.str()
		if err != nil {
			return err
		}
		if te, ok := s.bad.(*jsonTextError); ok && s.bad != before {
			te.inName = true
		}
		name := s.b[start+1 : s.i-1]
		s.ws()
		if s.i >= len(s.b) {
			return s.short()
		}
		if s.b[s.i] != ':' {
			return s.unexpected("':' after a field name")
		}
		s.i++
		s.ws()
		vstart, before := s.i, s.bad
		if err := s.value(); err != nil {
			return err
		}
		if te, ok := s.bad.(*jsonTextError); ok && each != nil && s.bad != before {
			te.field = fieldName(name, esc)
		}
		if each != nil {
			if err := each(name, esc, s.b[vstart:s.i], s.base+int64(vstart)); err != nil {
				return err
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.short()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
			continue
		case '}':
			s.i++
			s.depth--
			return nil
		}
		return s.unexpected("',' or '}' after a field")
	}
}

func (s *jsonScanner) array() error {
	if s.depth++; s.depth > maxJSONDepth {
		return s.fail("nested deeper than %d levels", maxJSONDepth)
	}
	s.i++ // '['
	s.ws()
	if s.i >= len(s.b) {
		return s.short()
	}
	if s.b[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.short()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
			continue
		case ']':
			s.i++
			s.depth--
			return nil
		}
		return s.unexpected("',' or ']' after an array element")
	}
}

// str reads a string, checking that it is valid UTF-8 and its escapes
// valid Unicode; esc reports whether it holds escapes.
func (s *jsonScanner) str() (esc bool, err error) {
	s.i++ // '"'
	for {
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				break
			}
			s.i++
		}
		if s.i >= len(s.b) {
			return esc, s.short()
		}
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return esc, nil
		case c == '\\':
			esc = true
			if err := s.escape(); err != nil {
				return esc, err
			}
		case c < 0x20:
			return esc, s.fail("a control character (byte 0x%02X) inside a string; escape it", c)
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n <= 1 {
				if !s.final && !utf8.FullRune(s.b[s.i:]) {
					return esc, errShort
				}
				s.note(&jsonTextError{msg: fmt.Sprintf("byte %d is not valid UTF-8", s.base+int64(s.i))})
				n = 1
			}
			s.i += n
		}
	}
}

// escape reads one backslash escape.
func (s *jsonScanner) escape() error {
	if s.i+1 >= len(s.b) {
		return s.short()
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return nil
	case 'u':
	default:
		s.i++
		return s.fail("%s is not an escape", describeByte(s.b[s.i:]))
	}
	at := s.i
	r, err := s.hex4()
	if err != nil {
		return err
	}
	if !utf16.IsSurrogate(r) {
		return nil
	}
	lone := &jsonTextError{msg: fmt.Sprintf(`\u%04x at byte %d is half of a UTF-16 surrogate pair`, r, s.base+int64(at))}
	if r >= 0xDC00 {
		s.note(lone)
		return nil
	}
	if len(s.b)-s.i < 6 && !s.final {
		return errShort
	}
	if len(s.b)-s.i >= 6 && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
		save := s.i
		if r2, err := s.hex4(); err == nil && r2 >= 0xDC00 && r2 <= 0xDFFF {
			return nil
		}
		s.i = save
	}
	s.note(lone)
	return nil
}

// hex4 reads \uXXXX at s.i.
func (s *jsonScanner) hex4() (rune, error) {
	if len(s.b)-s.i < 6 {
		for j := s.i + 2; j < len(s.b); j++ {
			if unhex(s.b[j]) < 0 {
				s.i = j
				return 0, s.fail(`\u needs four hex digits, found %s`, describeByte(s.b[j:]))
			}
		}
		return 0, s.short()
	}
	var r rune
	for j := s.i + 2; j < s.i+6; j++ {
		d := unhex(s.b[j])
		if d < 0 {
			s.i = j
			return 0, s.fail(`\u needs four hex digits, found %s`, describeByte(s.b[j:]))
		}
		r = r<<4 | d
	}
	s.i += 6
	return r, nil
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func (s *jsonScanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return s.short()
	}
	switch c := s.b[s.i]; {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return s.unexpected("a digit")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if err := s.needDigits(); err != nil {
			return err
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if err := s.needDigits(); err != nil {
			return err
		}
	}
	if s.i >= len(s.b) && !s.final {
		return errShort // more digits may follow
	}
	return nil
}

func (s *jsonScanner) digits() {
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
}

func (s *jsonScanner) needDigits() error {
	if s.i >= len(s.b) {
		return s.short()
	}
	if c := s.b[s.i]; c < '0' || c > '9' {
		return s.unexpected("a digit")
	}
	s.digits()
	return nil
}

func (s *jsonScanner) literal(lit string) error {
	for j := 0; j < len(lit); j++ {
		if s.i >= len(s.b) {
			return s.short()
		}
		if s.b[s.i] != lit[j] {
			return s.unexpected(fmt.Sprintf("%q", lit))
		}
		s.i++
	}
	return nil
}

// fields reads the object at s.i and appends its top-level fields to dst,
// refusing a name given twice.
func (s *jsonScanner) fields(dst []jsonField) ([]jsonField, error) {
	first := len(dst)
	var seen map[string]bool // past a few fields, a set beats comparing each pair
	err := s.object(func(name []byte, esc bool, val []byte, off int64) error {
		if esc {
			name = []byte(unescape(name))
		}
		if n := len(dst) - first; n < 16 {
			for _, f := range dst[first:] {
				if bytes.Equal(f.name, name) {
					s.note(&jsonDupError{field: string(name)})
					return nil
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]bool, 2*n)
				for _, f := range dst[first:] {
					seen[string(f.name)] = true
				}
			}
			if seen[string(name)] {
				s.note(&jsonDupError{field: string(name)})
				return nil
			}
			seen[string(name)] = true
		}
		dst = append(dst, jsonField{name: name, val: val, off: off})
		return nil
	})
	return dst, err
}

// fieldName decodes a field name for a message.
func fieldName(raw []byte, esc bool) string {
	if esc {
		return unescape(raw)
	}
	return string(raw)
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return "a number"
}

// jsonObjectFields reads body, which must be exactly one JSON object, and
// returns its top-level fields in order. Malformed JSON is a *Problem (400);
// a field whose value is not valid text, or a name given twice, is a
// *models.InputError (422) naming the field.
func jsonObjectFields(body []byte) ([]jsonField, error) {
	s := jsonScanner{b: body, final: true}
	s.ws()
	if s.i == len(body) {
		return nil, problem(http.StatusBadRequest, "malformed-json", "the body is empty; send a JSON object")
	}
	if c := body[s.i]; c != '{' {
		if !jsonStart(c) {
			return nil, jsonError(s.unexpected("a JSON object"))
		}
		return nil, problem(http.StatusBadRequest, "malformed-json", "the body must be a JSON object, not "+jsonKind(c))
	}
	fs, err := s.fields(make([]jsonField, 0, 8))
	if err != nil {
		return nil, jsonError(err)
	}
	s.ws()
	if s.i < len(body) {
		return nil, problem(http.StatusBadRequest, "malformed-json", "the body has data after the JSON object")
	}
	if s.bad != nil {
		return nil, jsonError(s.bad)
	}
	return fs, nil
}

// jsonStart reports whether a JSON value may start with c.
func jsonStart(c byte) bool {
	return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n'
}

// jsonError turns a jsonScanner's error into the API's: malformed JSON is a
// *Problem (400), a field that is not text or is given twice an
// *models.InputError (422).
func jsonError(err error) error {
	var se *jsonSyntaxError
	var te *jsonTextError
	var de *jsonDupError
	switch {
	case errors.Is(err, errEnd), errors.Is(err, errShort):
		return problem(http.StatusBadRequest, "malformed-json", "the JSON body ends too early")
	case errors.As(err, &se):
		return problem(http.StatusBadRequest, "malformed-json", se.Error())
	case errors.As(err, &te) && te.inName:
		return problem(http.StatusBadRequest, "malformed-json", "malformed JSON: a field name must be UTF-8 text; "+te.msg)
	case errors.As(err, &te):
		return &models.InputError{Field: truncate(te.field, 64), Detail: "must be UTF-8 text; " + te.msg}
	case errors.As(err, &de):
		return &models.InputError{Field: truncate(de.field, 64), Detail: "given twice; give each field once"}
	}
	return err
}

// jsonIsNull reports whether a value is null.
func jsonIsNull(v []byte) bool { return string(v) == "null" }

// jsonText decodes a string value read by a jsonScanner; ok is false when
// the value is not a string.
func jsonText(v []byte) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return string(in), true
	}
	return unescape(in), true
}

// jsonTexts decodes an array of strings read by a jsonScanner; ok is false
// when the value is not an array or holds anything but strings.
func jsonTexts(v []byte) (out []string, ok bool) {
	if len(v) < 2 || v[0] != '[' {
		return nil, false
	}
	s := jsonScanner{b: v, i: 1, final: true}
	s.ws()
	out = []string{}
	for s.i < len(v) && v[s.i] != ']' {
		start := s.i
		if v[s.i] != '"' {
			return nil, false
		}
		if _, err := s.str(); err != nil {
			return nil, false
		}
		t, _ := jsonText(v[start:s.i])
		out = append(out, t)
		s.ws()
		if s.i < len(v) && v[s.i] == ',' {
			s.i++
			s.ws()
		}
	}
	return out, true
}

// unescape decodes the inside of a string read by a jsonScanner (escapes
// well-formed, surrogates paired).
func unescape(in []byte) string {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch in[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(in[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				r = utf16.DecodeRune(r, hexRune(in[i+2:i+6]))
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // " \ /
			out = append(out, in[i+1])
		}
		i += 2
	}
	return string(out)
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		r = r<<4 | unhex(c)
	}
	return r
}
