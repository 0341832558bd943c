package api

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/karmagate/karmagate/models"
)

// readOnlyFields are what GET returns and PUT ignores, so a client can send
// back what it read; an id must then be the URL's.
var readOnlyFields = map[string]bool{"id": true, "telegram": true, "chats": true, "_links": true, "created_at": true, "updated_at": true}

// memberFields says what a member body may hold.
const memberFields = "a member has karma, groups, name, phone, username"

// unknownField refuses a field a route does not take; known says which it
// takes.
func unknownField(name, known string) error {
	name = truncate(name, 64)
	return &models.InputError{Field: name, Detail: fmt.Sprintf("unknown field %q; %s", name, known)}
}

// idMismatch refuses a body whose id is not the URL's.
func idMismatch(body, path string) error {
	return &models.InputError{Field: "id", Detail: fmt.Sprintf("the body's id %q differs from the URL's %q; leave id out or send the same", truncate(body, 64), path)}
}

// memberFromJSON reads a member's fields from a JSON object into in. in.ID
// is set (the URL's, or the bulk entry's): an id in the body must be the
// same.
func memberFromJSON(fs []jsonField, in *models.MemberInput) error {
	haveKarma := false
	for _, f := range fs {
		v := f.val
		var err error
		switch string(f.name) {
		case "id":
			id, ok := jsonText(v)
			if !ok {
				return &models.InputError{Field: "id", Detail: "must be a string, not " + jsonKind(v[0])}
			}
			if id != in.ID {
				return idMismatch(id, in.ID)
			}
		case "karma":
			in.Karma, err = jsonInt(v, "karma")
			haveKarma = true
		case "groups":
			in.Groups, err = jsonGroups(v)
		case "name":
			in.Name, err = jsonOptString(v, "name")
		case "phone":
			in.Phone, err = jsonOptString(v, "phone")
		case "username":
			in.Username, err = jsonOptString(v, "username")
		default:
			if !readOnlyFields[string(f.name)] {
				return unknownField(string(f.name), memberFields)
			}
		}
		if err != nil {
			return err
		}
	}
	if !haveKarma {
		return &models.InputError{Field: "karma", Detail: "karma is required (an integer, may be negative)"}
	}
	return nil
}

// jsonInt reads an int64 that must be written as an integer (a JSON number
// without fraction, or a string of digits as PHP sometimes sends).
func jsonInt(v []byte, field string) (int64, error) {
	if s, ok := jsonText(v); ok {
		return parseInt(s, field)
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return 0, &models.InputError{Field: field, Detail: "must be an integer, not " + jsonKind(c)}
	}
	return parseInt(string(v), field)
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

func jsonGroups(v []byte) ([]string, error) {
	if list, ok := jsonTexts(v); ok {
		return list, nil
	}
	if one, ok := jsonText(v); ok {
		return splitGroups([]string{one}), nil
	}
	if jsonIsNull(v) {
		return nil, nil
	}
	return nil, &models.InputError{Field: "groups", Detail: `must be a list of group names, e.g. ["webmasters", "customers"], or one comma-separated string`}
}

func jsonOptString(v []byte, field string) (*string, error) {
	if jsonIsNull(v) {
		return nil, nil
	}
	s, ok := jsonText(v)
	if !ok {
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
		case k == "id":
			if len(vals) != 1 || vals[0] != in.ID {
				return idMismatch(strings.Join(vals, ","), in.ID)
			}
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
				return unknownField(k, memberFields)
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
