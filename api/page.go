package api

import (
	"net/url"
	"strconv"

	"github.com/karmagate/karmagate/models"
)

// Paging of listings (members, events).
const (
	defaultPage = 100
	maxPage     = 1000
)

// queryLimit reads ?limit=: 1 to 1000, the default when absent.
func queryLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, &models.InputError{Field: "limit", Detail: "limit must be an integer from 1 to " + strconv.Itoa(maxPage)}
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
