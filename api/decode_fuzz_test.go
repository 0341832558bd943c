package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/karmagate/karmagate/models"
)

// FuzzMemberBody feeds arbitrary bodies to the JSON and form decoders: each
// must give a member or a clear error, never panic, and what it accepts must
// normalize or be refused with a field.
func FuzzMemberBody(f *testing.F) {
	f.Add(`{"karma": 150, "groups": ["webmasters"], "name": "Alice"}`)
	f.Add(`{"karma": "-12", "groups": "a,b", "phone": "+14155550123"}`)
	f.Add(`{"karma": 1e3}`)
	f.Add(`karma=5&groups[]=a&groups[]=b&username=@alice_tg`)
	f.Add(`{"karma": 9223372036854775807, "groups": null, "id": "fuzz", "_links": {}}`)
	f.Add(`{"karma": 100, "karma": -5}`)
	f.Add("{\"karma\": 1, \"name\": \"Caf\xe9\"}")
	f.Add(`{"karma": 1, "name": "\ud800"}`)
	f.Add(`{"karma": 1, "name": "\ud83d\ude00"}`)
	f.Fuzz(func(t *testing.T, body string) {
		check := func(in *models.MemberInput, err error) {
			if err != nil {
				var p *Problem
				var ie *models.InputError
				if !errors.As(err, &p) && !errors.As(err, &ie) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				return
			}
			if err := in.Normalize(nil); err != nil {
				if ie, ok := err.(*models.InputError); !ok || ie.Field == "" {
					t.Fatalf("normalize error without a field: %v", err)
				}
				return
			}
			if in.Name != nil && !utf8.ValidString(*in.Name) {
				t.Fatalf("accepted a name that is not UTF-8: %q", *in.Name)
			}
		}
		in := models.MemberInput{ID: "fuzz"}
		fs, err := jsonObjectFields([]byte(body))
		if err == nil {
			err = memberFromJSON(fs, &in)
		}
		if err == nil && !utf8.ValidString(body) {
			t.Fatalf("accepted JSON that is not UTF-8: %q", body)
		}
		check(&in, err)
		if form, perr := url.ParseQuery(body); perr == nil {
			in := models.MemberInput{ID: "fuzz"}
			check(&in, memberFromForm(form, &in))
		}
	})
}

// FuzzJSONObject checks the strict reader against encoding/json: what it
// accepts, encoding/json accepts with the same fields and values; what
// encoding/json refuses, it refuses; and what only it refuses is a name
// given twice, text that is not UTF-8, or nesting past its limit.
func FuzzJSONObject(f *testing.F) {
	for _, s := range []string{
		`{"karma": 150, "groups": ["webmasters"], "name": "Alice"}`,
		`{"a": {"b": [1, 2.5e-3, true, false, null]}, "c": "\u00e9\n\"\\\/"}`,
		`{"karma":100,"karma":-5}`,
		`{"delta":-5,"delta":-7}`,
		`{"id":"a","id":"b","karma":1}`,
		"{\"name\": \"Caf\xe9\"}",
		"{\"n\xe9\": 1}",
		"\xef\xbb\xbf{\"karma\": 1}",
		`{"s": "\ud800"}`, `{"s": "\udc00x"}`, `{"s": "\ud800\u0041"}`, `{"s": "\ud83d\ude00"}`,
		`{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":"` + "\t" + `"}`,
		`{"a":[1,]}`, `{"a":1} x`, `[1]`, ``, `{`, `{"a":tru}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fs, err := jsonObjectFields([]byte(body))
		valid := json.Valid([]byte(body))
		var obj map[string]json.RawMessage
		isObject := valid && json.Unmarshal([]byte(body), &obj) == nil && obj != nil
		if err == nil {
			if !isObject {
				t.Fatalf("accepted what encoding/json does not take for an object: %q", body)
			}
			if !utf8.ValidString(body) {
				t.Fatalf("accepted invalid UTF-8: %q", body)
			}
			if len(fs) != len(obj) {
				t.Fatalf("%d fields, encoding/json has %d (a name repeats?): %q", len(fs), len(obj), body)
			}
			for _, fl := range fs {
				want, ok := obj[string(fl.name)]
				if !ok {
					t.Fatalf("field %q: encoding/json does not have it", fl.name)
				}
				var a, b bytes.Buffer
				if json.Compact(&a, fl.val) != nil || json.Compact(&b, want) != nil || a.String() != b.String() {
					t.Fatalf("field %q = %s, encoding/json %s", fl.name, fl.val, want)
				}
				if got, ok := jsonText(fl.val); ok {
					var std string
					if err := json.Unmarshal(fl.val, &std); err != nil || std != got {
						t.Fatalf("string %s = %q, encoding/json %q (%v)", fl.val, got, std, err)
					}
				}
				if got, ok := jsonTexts(fl.val); ok {
					var std []string
					if err := json.Unmarshal(fl.val, &std); err != nil || !reflect.DeepEqual(std, got) {
						t.Fatalf("strings %s = %q, encoding/json %q (%v)", fl.val, got, std, err)
					}
				}
			}
			return
		}
		var p *Problem
		var ie *models.InputError
		switch {
		case errors.As(err, &ie):
			if !isObject {
				t.Fatalf("field error %v for a body encoding/json refuses: %q", err, body)
			}
			if !strings.Contains(ie.Detail, "given twice") && !strings.Contains(ie.Detail, "UTF-8") {
				t.Fatalf("field error %v for a valid object: %q", err, body)
			}
		case errors.As(err, &p):
			if p.Status != 400 {
				t.Fatalf("status %d: %v", p.Status, err)
			}
			if isObject && !strings.Contains(p.Detail, "nested deeper") && !strings.Contains(p.Detail, "field name must be UTF-8") {
				t.Fatalf("refused as malformed a body encoding/json takes: %v: %q", err, body)
			}
		default:
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}

// FuzzBulkBody reads bulk bodies (JSON array and NDJSON) whole and one byte
// at a time: the streaming reader must decide the same either way, however
// the body arrives.
func FuzzBulkBody(f *testing.F) {
	for _, s := range []string{
		`[{"id":"a1","karma":100,"groups":["webmasters"]},{"id":"a2","karma":60,"groups":"customers"}]`,
		"{\"id\":\"a1\",\"karma\":1}\n\n{\"id\":\"a3\",\"karma\":-4}\r\n",
		`[{"id":"a","id":"b","karma":1},{"id":"c","karma":1,"karma":2}]`,
		"[{\"id\":\"a\",\"karma\":1,\"name\":\"Caf\xe9\"}]",
		`[{"id":"a","karma":1,"name":"\ud800"}, 1, "x", [], null]`,
		`[{"id":"a","karma":1},]`, `[`, `[{"id":"a"`, `{"id":"a"} x`, "[] ", "\xef\xbb\xbf[]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, ndjson := range []bool{false, true} {
			read := func(oneByte bool) string {
				var r = iotestReader(body, oneByte)
				b := &bulkReader{r: r, buf: make([]byte, 16), limit: MaxBulkBody, most: MaxBulkMembers}
				var err error
				if ndjson {
					err = b.readLines()
				} else {
					err = b.readArray()
				}
				if err != nil {
					var p *Problem
					if !errors.As(err, &p) {
						t.Fatalf("error of type %T: %v", err, err)
					}
					return "error: " + p.Detail
				}
				if len(b.ins) != len(b.errs) || (ndjson && len(b.lines) != len(b.ins)) {
					t.Fatalf("%d members, %d errors, %d lines", len(b.ins), len(b.errs), len(b.lines))
				}
				var out strings.Builder
				for i, in := range b.ins {
					fmt.Fprintf(&out, "%q %d %q %s %s %s %v\n", in.ID, in.Karma, in.Groups, deref(in.Name), deref(in.Phone), deref(in.Username), b.errs[i])
				}
				return fmt.Sprint(out.String(), b.lines)
			}
			if whole, bytewise := read(false), read(true); whole != bytewise {
				t.Fatalf("ndjson %v: whole %s\nbyte by byte %s", ndjson, whole, bytewise)
			}
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", *s)
}

func iotestReader(s string, oneByte bool) interface{ Read([]byte) (int, error) } {
	if oneByte {
		return iotest.OneByteReader(strings.NewReader(s))
	}
	return strings.NewReader(s)
}
