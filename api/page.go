package api

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paging of listings (members, events).
const (
	defaultPage = 100
	maxPage     = 1000
)

// A request whose URL is wrong is a 400, with field naming the parameter:
// a malformed query, an unknown or repeated parameter, a value out of
// range, a chat, state or kind that does not exist, a malformed member id
// (in the path too). A body field that breaks a rule is a 422.

// badParam refuses a query parameter.
func badParam(field, detail string) *Problem {
	field = truncate(field, 64)
	p := problem(http.StatusBadRequest, "invalid-parameter", field+": "+detail)
	p.Field = field
	return p
}

// query reads the URL's query strictly: well-formed, only the parameters
// allowed, each at most once.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, problem(http.StatusBadRequest, "invalid-parameter", "the query string cannot be parsed: "+err.Error())
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return nil, badParam(k, "unknown parameter; this route takes none")
			}
			return nil, badParam(k, fmt.Sprintf("unknown parameter; this listing takes %s", strings.Join(allowed, ", ")))
		}
		if len(q[k]) > 1 {
			return nil, badParam(k, "given more than once; give it once")
		}
	}
	return q, nil
}

// queryLimit reads ?limit=: 1 to 1000, the default when absent.
func queryLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, badParam("limit", "must be an integer from 1 to "+strconv.Itoa(maxPage))
	}
	return n, nil
}

// pageLinks is the _links of one page of the listing at path, asked for with
// query q: self, and next (q with cursor set to last) when the page is full.
func pageLinks(path string, q url.Values, got, limit int, cursor, last string) map[string]any {
	self := path
	if enc := q.Encode(); enc != "" {
		self += "?" + enc
	}
	links := map[string]any{"self": link(self)}
	if got == limit && got > 0 {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set(cursor, last)
		links["next"] = link(path + "?" + next.Encode())
	}
	return links
}
