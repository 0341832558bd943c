package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// Body limits.
const (
	MaxBody     = 1 << 20  // 1 MiB for a single call, and for one member in bulk
	MaxBulkBody = 64 << 20 // 64 MiB for bulk
	// MaxStreamBody bounds an NDJSON bulk import, written as it arrives
	// (1 GiB: 2,000,000 members of 500 bytes).
	MaxStreamBody = 1 << 30
)

// bodyKind is how a request body is encoded.
type bodyKind int

const (
	bodyJSON bodyKind = iota + 1
	bodyForm
	bodyNDJSON
)

var kindNames = map[bodyKind]string{bodyJSON: "application/json", bodyForm: "application/x-www-form-urlencoded", bodyNDJSON: "application/x-ndjson"}

// peekSize is how much of a body is looked at before it is read: enough to
// see whether it starts like JSON.
const peekSize = 512

// openBody checks the content type against what the route accepts and the
// declared length against limit, and returns the body, buffered and cut at
// limit. A body that starts with a byte order mark is refused whatever its
// type; one that looks like JSON but is not declared so is refused with a
// hint.
func openBody(w http.ResponseWriter, r *http.Request, limit int64, accept ...bodyKind) (bodyKind, *bufio.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "", nil
	}
	if err != nil {
		return 0, nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", fmt.Sprintf("Content-Type %q cannot be parsed", truncate(ct, 100)))
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
	if r.ContentLength > limit {
		return 0, nil, tooLarge(limit)
	}
	br := bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, limit), peekSize)
	head, err := br.Peek(peekSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, nil, readError(err, limit)
	}
	accepted := false
	for _, a := range accept {
		accepted = accepted || a == kind
	}
	if !accepted {
		var want []string
		for _, a := range accept {
			want = append(want, kindNames[a])
		}
		if ct == "" {
			ct = "none"
		}
		detail := fmt.Sprintf("Content-Type %s is not accepted here; send %s", truncate(ct, 100), strings.Join(want, " or "))
		if looksLikeJSON(head) && slices.Contains(accept, bodyJSON) {
			detail = fmt.Sprintf("Content-Type %s is not accepted here, and the body looks like JSON: send Content-Type: application/json", truncate(ct, 100))
		}
		return 0, nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", detail)
	}
	if bytes.HasPrefix(head, utf8BOM) {
		kindName := "malformed-json"
		if kind == bodyForm {
			kindName = "malformed-form"
		}
		return 0, nil, problem(http.StatusBadRequest, kindName,
			"the body starts with a UTF-8 byte order mark (EF BB BF); send it without one (in PHP, save the files as UTF-8 without BOM)")
	}
	if mt == "application/x-www-form-urlencoded" && looksLikeJSON(head) {
		return 0, nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"the body looks like JSON but Content-Type is application/x-www-form-urlencoded: send Content-Type: application/json")
	}
	return kind, br, nil
}

// looksLikeJSON reports whether a body starts like a JSON object or array.
func looksLikeJSON(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && (head[0] == '{' || head[0] == '[')
}

// readBody reads a single call's body within MaxBody: a JSON body's bytes,
// or a form parsed into r.PostForm.
func readBody(w http.ResponseWriter, r *http.Request, accept ...bodyKind) (bodyKind, []byte, error) {
	kind, br, err := openBody(w, r, MaxBody, accept...)
	if err != nil {
		return 0, nil, err
	}
	if kind == bodyForm {
		r.Body = readCloser{br, r.Body}
		return kind, nil, parseForm(r, MaxBody)
	}
	b, err := io.ReadAll(br)
	if err != nil {
		return 0, nil, readError(err, MaxBody)
	}
	return kind, b, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// readError explains a failure to read a body.
func readError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	return problem(http.StatusBadRequest, "unreadable-body", "could not read the request body: "+err.Error())
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
	if r.MultipartForm != nil {
		for k := range r.MultipartForm.File {
			return unknownField(k, "files are not accepted")
		}
	}
	return nil
}
