package botapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// params are a request's parameters as strings; JSON bodies keep non-string
// values as their JSON text, as Telegram treats them.
type params map[string]string

const maxBody = 50 << 20

// readParams merges the query string and the body (JSON,
// x-www-form-urlencoded or multipart/form-data).
func readParams(r *http.Request) (params, error) {
	p := params{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p[k] = vs[len(vs)-1]
		}
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if len(strings.TrimSpace(string(body))) == 0 {
			return p, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, badRequest("can't parse JSON request")
		}
		for k, raw := range m {
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				p[k] = s
				continue
			}
			if string(raw) == "null" {
				continue
			}
			p[k] = string(raw)
		}
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return nil, badRequest("can't parse form")
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				p[k] = vs[len(vs)-1]
			}
		}
	case "multipart/form-data":
		// go-telegram/bot sends methods without parameters as an empty body
		// with a multipart content type; Telegram accepts that.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if len(body) == 0 {
			return p, nil
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(maxBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, badRequest("can't parse multipart form")
		}
		if r.MultipartForm != nil {
			for k, vs := range r.MultipartForm.Value {
				if len(vs) > 0 {
					p[k] = vs[len(vs)-1]
				}
			}
			for k := range r.MultipartForm.File {
				p[k] = "attach://" + k
			}
		}
	}
	return p, nil
}

func (p params) str(name string) string { return p[name] }

func (p params) int64(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(p[name]), 10, 64)
	return n
}

func (p params) int(name string) int { return int(p.int64(name)) }

func (p params) bool(name string) bool {
	b, _ := parseBool(p[name])
	return b
}

func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// unix reads a Unix timestamp; 0 or absent is the zero time.
func (p params) unix(name string) time.Time {
	n := p.int64(name)
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// strings reads a JSON array of strings.
func (p params) strings(name string) ([]string, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, badRequest(fmt.Sprintf("can't parse %s JSON array", name))
	}
	return out, nil
}
