package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/karmagate/karmagate/models"
)

// Body limits.
const (
	MaxBody     = 1 << 20  // 1 MiB for a single call
	MaxBulkBody = 64 << 20 // 64 MiB for bulk
)

// bodyKind is how a request body is encoded.
type bodyKind int

const (
	bodyJSON bodyKind = iota + 1
	bodyForm
	bodyNDJSON
)

// readBody checks the content type against what the route accepts and reads
// the body within limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, accept ...bodyKind) (bodyKind, []byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "", nil
	}
	if err != nil {
		return 0, nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", fmt.Sprintf("Content-Type %q cannot be parsed", ct))
	}
	var kind bodyKind
	switch mt {
	case "application/json", "application/problem+json":
		kind = bodyJSON
	case "application/x-www-form-urlencoded", "multipart/form-data":
		kind = bodyForm
	case "application/x-ndjson", "application/jsonl", "application/ndjson":
		kind = bodyNDJSON
	}
	ok := false
	for _, a := range accept {
		ok = ok || a == kind
	}
	if !ok {
		names := map[bodyKind]string{bodyJSON: "application/json", bodyForm: "application/x-www-form-urlencoded", bodyNDJSON: "application/x-ndjson"}
		var want []string
		for _, a := range accept {
			want = append(want, names[a])
		}
		if ct == "" {
			ct = "none"
		}
		return 0, nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type",
			fmt.Sprintf("Content-Type %s is not accepted here; send %s", ct, strings.Join(want, " or ")))
	}
	if r.ContentLength > limit {
		return 0, nil, tooLarge(limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if kind == bodyForm {
		if err := parseForm(r, limit); err != nil {
			return 0, nil, err
		}
		return kind, nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return 0, nil, tooLarge(limit)
		}
		return 0, nil, problem(http.StatusBadRequest, "unreadable-body", "could not read the request body: "+err.Error())
	}
	return kind, b, nil
}

func tooLarge(limit int64) error {
	return problem(http.StatusRequestEntityTooLarge, "body-too-large", fmt.Sprintf("the body is larger than the %d bytes allowed here", limit))
}

func parseForm(r *http.Request, limit int64) error {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(limit)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return problem(http.StatusBadRequest, "malformed-form", "the form body cannot be parsed: "+err.Error())
	}
	return nil
}

// jsonObject decodes a JSON object into raw fields, with a useful message
// for each way it can be malformed.
func jsonObject(b []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil {
		return nil, malformedJSON(b, err)
	}
	if dec.More() {
		return nil, problem(http.StatusBadRequest, "malformed-json", "the body has data after the JSON object")
	}
	if obj == nil {
		return nil, problem(http.StatusBadRequest, "malformed-json", "the body must be a JSON object")
	}
	return obj, nil
}

func malformedJSON(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return problem(http.StatusBadRequest, "malformed-json", "the body is empty; send a JSON object")
	case errors.As(err, &se):
		return problem(http.StatusBadRequest, "malformed-json", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err))
	case errors.As(err, &te):
		return problem(http.StatusBadRequest, "malformed-json", fmt.Sprintf("the body must be a JSON object, not %s", te.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, "malformed-json", "the JSON body ends too early")
	}
	return problem(http.StatusBadRequest, "malformed-json", "malformed JSON: "+err.Error())
}

// readOnlyFields are what GET returns and PUT ignores, so a client can send
// back what it read.
var readOnlyFields = map[string]bool{"id": true, "telegram": true, "chats": true, "_links": true, "created_at": true, "updated_at": true}

// memberFromJSON reads a member's fields from a JSON object.
func memberFromJSON(obj map[string]json.RawMessage, in *models.MemberInput) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	haveKarma := false
	for _, k := range keys {
		v := obj[k]
		switch k {
		case "karma":
			n, err := jsonInt(v, "karma")
			if err != nil {
				return err
			}
			in.Karma, haveKarma = n, true
		case "groups":
			gs, err := jsonGroups(v)
			if err != nil {
				return err
			}
			in.Groups = gs
		case "name", "phone", "username":
			s, err := jsonOptString(v, k)
			if err != nil {
				return err
			}
			switch k {
			case "name":
				in.Name = s
			case "phone":
				in.Phone = s
			default:
				in.Username = s
			}
		default:
			if !readOnlyFields[k] {
				return &models.InputError{Field: k, Detail: fmt.Sprintf("unknown field %q; a member has karma, groups, name, phone, username", k)}
			}
		}
	}
	if !haveKarma {
		return &models.InputError{Field: "karma", Detail: "karma is required (an integer, may be negative)"}
	}
	return nil
}

// jsonInt reads an int64 that must be written as an integer (a JSON number
// without fraction, or a string of digits as PHP sometimes sends).
func jsonInt(v json.RawMessage, field string) (int64, error) {
	s := strings.TrimSpace(string(v))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, &models.InputError{Field: field, Detail: "must be an integer"}
		}
	}
	return parseInt(s, field)
}

var intPattern = regexp.MustCompile(`^[+-]?[0-9]+$`)

func parseInt(s, field string) (int64, error) {
	s = strings.TrimSpace(s)
	if !intPattern.MatchString(s) {
		return 0, &models.InputError{Field: field, Detail: fmt.Sprintf("%q is not an integer", truncate(s, 40))}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &models.InputError{Field: field, Detail: fmt.Sprintf("%s is out of range (%d to %d)", truncate(s, 40), int64(-1<<63), int64(1<<63-1))}
	}
	return n, nil
}

func jsonGroups(v json.RawMessage) ([]string, error) {
	var list []string
	if err := json.Unmarshal(v, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return splitGroups([]string{one}), nil
	}
	if string(v) == "null" {
		return nil, nil
	}
	return nil, &models.InputError{Field: "groups", Detail: `must be a list of group names, e.g. ["webmasters", "customers"], or one comma-separated string`}
}

func jsonOptString(v json.RawMessage, field string) (*string, error) {
	if string(v) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, &models.InputError{Field: field, Detail: "must be a string or null"}
	}
	return &s, nil
}

// splitGroups accepts repeated fields and comma-separated lists alike.
func splitGroups(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

var phpIndexed = regexp.MustCompile(`^groups\[[0-9]*\]$`)

// memberFromForm reads a member from form fields. groups may be repeated,
// comma-separated, or PHP-style groups[] / groups[0].
func memberFromForm(form url.Values, in *models.MemberInput) error {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	haveKarma := false
	var groups []string
	for _, k := range keys {
		vals := form[k]
		switch {
		case k == "karma":
			if len(vals) != 1 {
				return &models.InputError{Field: "karma", Detail: "give karma once"}
			}
			n, err := parseInt(vals[0], "karma")
			if err != nil {
				return err
			}
			in.Karma, haveKarma = n, true
		case k == "groups" || phpIndexed.MatchString(k):
			groups = append(groups, vals...)
		case k == "name" || k == "phone" || k == "username":
			if len(vals) != 1 {
				return &models.InputError{Field: k, Detail: "give " + k + " once"}
			}
			v := vals[0]
			switch k {
			case "name":
				in.Name = &v
			case "phone":
				in.Phone = &v
			default:
				in.Username = &v
			}
		default:
			if !readOnlyFields[k] {
				return &models.InputError{Field: k, Detail: fmt.Sprintf("unknown field %q; a member has karma, groups, name, phone, username", k)}
			}
		}
	}
	if !haveKarma {
		return &models.InputError{Field: "karma", Detail: "karma is required (an integer, may be negative)"}
	}
	in.Groups = splitGroups(groups)
	return nil
}

func truncate(s string, n int) string { return models.Truncate(s, n) }
