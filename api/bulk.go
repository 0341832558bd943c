package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// MaxBulkMembers bounds a bulk call's JSON array.
const MaxBulkMembers = 200_000

// MaxStreamMembers bounds a bulk call's NDJSON body (MaxStreamBody its
// size): an import holds one segment in memory, whatever the body's size.
const MaxStreamMembers = 2_000_000

// bulkSegment is how many members a bulk import checks, spools and writes
// at a time.
const bulkSegment = 5000

// maxListedErrors bounds the errors a bulk problem lists.
const maxListedErrors = 100

// bulk is POST /api/v1/members/bulk: the body read and every member
// checked as it arrives, bulkSegment members at a time, then, if all are
// valid, written in one transaction.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) error {
	who, err := actor(r)
	if err != nil {
		return err
	}
	release, err := s.bulkTurn(r)
	if err != nil {
		return err
	}
	defer release()
	limit, most := int64(MaxBulkBody), MaxBulkMembers
	if ndjsonBody(r) {
		limit, most = MaxStreamBody, MaxStreamMembers
	}
	kind, body, err := openBody(w, r, limit, bodyJSON, bodyNDJSON)
	if err != nil {
		return err
	}
	// The body is read and checked whole before the write starts, so that
	// a slow upload or an invalid member never holds the database; the
	// members checked wait in a spool file, so that memory holds one
	// segment whatever the body's size.
	sp, err := newSpool()
	if err != nil {
		return err
	}
	defer sp.close()
	v := &bulkValidator{rules: s.store.Rules(), seen: newIDSet(), put: sp.put}
	br := &bulkReader{r: body, buf: make([]byte, bulkWindow), limit: limit, most: most, segment: v.segment}
	if kind == bodyJSON {
		err = br.readArray()
	} else {
		err = br.readLines()
	}
	if err == nil {
		err = br.flush()
	}
	if err != nil {
		return err
	}
	if br.base == 0 {
		return problem(http.StatusBadRequest, "empty-bulk", "the body holds no members")
	}
	if v.nbad > 0 {
		p := problem(http.StatusUnprocessableEntity, "invalid-members",
			fmt.Sprintf("%d of %d members are invalid; nothing was written", v.nbad, br.base))
		p.Errors = v.bad
		return p
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	res, err := s.store.ImportMembers(ctx, who, func(im *models.Import) error {
		return sp.each(im.Put)
	})
	if err != nil {
		return err
	}
	received := br.base
	writeJSON(w, http.StatusOK, map[string]any{
		"received": received, "created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged,
		"actions_queued": res.Actions,
		"_links":         map[string]any{"events": link("/api/v1/events")},
	})
	return nil
}

// ndjsonBody reports whether a bulk body is NDJSON, by its Content-Type.
func ndjsonBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	switch mt {
	case "application/x-ndjson", "application/jsonl", "application/ndjson":
		return true
	}
	return false
}

// bulkValidator checks the members of a bulk body segment by segment and
// hands on the valid segments, until it meets an invalid member: from then
// on it only counts and lists them (the import writes nothing).
type bulkValidator struct {
	rules *gate.Rules
	seen  *idSet // ids met, with their entry
	put   func([]models.MemberInput) error
	bad   []ItemError
	nbad  int
}

// segment validates ins (entries base…, their decoding errors in errs,
// their NDJSON lines in lines) and hands them on if all so far are valid.
func (v *bulkValidator) segment(base int, ins []models.MemberInput, errs []error, lines []int) error {
	// Validating against the rules is most of the work before the
	// database's, so it runs on every core.
	parallel(len(ins), func(i int) {
		if errs[i] == nil {
			errs[i] = ins[i].Normalize(v.rules)
		}
	})
	for i := range ins {
		err := errs[i]
		id := ins[i].ID
		if err == nil {
			if j, fresh := v.seen.add(id, base+i); !fresh {
				err = &models.InputError{Field: "id", Detail: fmt.Sprintf("id %q repeats entry %d", id, j)}
			}
		}
		if err == nil {
			continue
		}
		if v.nbad++; len(v.bad) < maxListedErrors {
			e := itemError(base+i, id, err)
			if lines != nil {
				e.Line = lines[i]
			}
			v.bad = append(v.bad, e)
		}
	}
	if v.nbad > 0 {
		return nil
	}
	return v.put(ins)
}

// bulkTurn waits, at most WriteWait, for one of the MaxBulk turns that bulk
// imports take, so that only that many hold their members in memory at
// once; release gives the turn back.
func (s *Server) bulkTurn(r *http.Request) (release func(), err error) {
	release = func() { <-s.bulkTurns }
	select {
	case s.bulkTurns <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(s.writeWait)
	defer t.Stop()
	select {
	case s.bulkTurns <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, s.busy("too-many-bulk-imports", fmt.Sprintf("%d bulk imports are running, the most that run at once; try again later", cap(s.bulkTurns)))
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// bulkWindow is how much of a bulk body is read at a time.
const bulkWindow = 64 << 10

// bulkReader decodes the members of a bulk body as the body arrives: a JSON
// array, or NDJSON (one member per line). It holds a window of the body
// (one member, at most MaxBody, must fit in it), never the whole body.
// Malformed JSON ends the reading; a member that is well-formed JSON but
// not a valid member gets its error in errs.
type bulkReader struct {
	r        io.Reader
	buf      []byte
	pos, end int   // buf[pos:end] is read and not yet decoded
	off      int64 // where buf[0] is in the body
	eof      bool
	fields   []jsonField // reused for every member
	limit    int64       // the body's size limit
	most     int         // the most members the body may hold

	// The members of the segment being read: entries base… of the body.
	// Every bulkSegment members, segment is called with them and they are
	// dropped.
	ins     []models.MemberInput
	errs    []error // one per member: nil while it looks valid
	lines   []int   // NDJSON: each member's line
	base    int
	segment func(base int, ins []models.MemberInput, errs []error, lines []int) error
}

// entries is how many members the body held so far.
func (b *bulkReader) entries() int { return b.base + len(b.ins) }

// flush hands the segment read to segment and starts the next. Without a
// segment function the reader keeps every member (the decoder's tests).
func (b *bulkReader) flush() error {
	if len(b.ins) == 0 || b.segment == nil {
		return nil
	}
	if err := b.segment(b.base, b.ins, b.errs, b.lines); err != nil {
		return err
	}
	b.base += len(b.ins)
	clear(b.ins)
	b.ins, b.errs = b.ins[:0], b.errs[:0]
	if b.lines != nil {
		b.lines = b.lines[:0]
	}
	return nil
}

// next flushes the segment when it is full.
func (b *bulkReader) next() error {
	if len(b.ins) < bulkSegment || b.segment == nil {
		return nil
	}
	return b.flush()
}

// fill reads more of the body, keeping buf[pos:end] (moved to the front).
// It reports whether it read anything.
func (b *bulkReader) fill() (bool, error) {
	if b.eof {
		return false, nil
	}
	if b.pos > 0 {
		n := copy(b.buf, b.buf[b.pos:b.end])
		b.off += int64(b.pos)
		b.pos, b.end = 0, n
	}
	if b.end == len(b.buf) {
		grown := make([]byte, 2*len(b.buf))
		copy(grown, b.buf[:b.end])
		b.buf = grown
	}
	for {
		n, err := b.r.Read(b.buf[b.end:])
		b.end += n
		if errors.Is(err, io.EOF) {
			b.eof = true
			return n > 0, nil
		}
		if err != nil {
			return false, readError(err, b.limit)
		}
		if n > 0 {
			return true, nil
		}
	}
}

// peek skips white space and returns the next byte, or -1 at the end of
// the body.
func (b *bulkReader) peek() (int, error) {
	for {
		for b.pos < b.end {
			switch c := b.buf[b.pos]; c {
			case ' ', '\t', '\n', '\r':
				b.pos++
			default:
				return int(c), nil
			}
		}
		more, err := b.fill()
		if err != nil {
			return 0, err
		}
		if !more {
			return -1, nil
		}
	}
}

// describe names the byte at b.pos for a message (reading enough to tell
// a byte order mark).
func (b *bulkReader) describe() string {
	for b.end-b.pos < len(utf8BOM) && !b.eof {
		if _, err := b.fill(); err != nil {
			break
		}
	}
	return describeByte(b.buf[b.pos:b.end])
}

func malformed(format string, args ...any) *Problem {
	return problem(http.StatusBadRequest, "malformed-json", fmt.Sprintf(format, args...))
}

// readArray reads a JSON array of members.
func (b *bulkReader) readArray() error {
	c, err := b.peek()
	switch {
	case err != nil:
		return err
	case c == '{':
		return malformed("the body must be a JSON array of members, not one object; for one member per line send Content-Type: application/x-ndjson")
	case c < 0:
		return malformed("the body is empty; send a JSON array of members")
	case c != '[':
		if !jsonStart(byte(c)) {
			return malformed("malformed JSON at byte %d: expected a JSON array, found %s", b.off+int64(b.pos), b.describe())
		}
		return malformed("the body must be a JSON array of members, not %s", jsonKind(byte(c)))
	}
	b.pos++
	if c, err = b.peek(); err != nil {
		return err
	}
	if c != ']' {
		for {
			if c < 0 {
				return malformed("the JSON body ends too early (after entry %d)", b.entries()-1)
			}
			if err := b.member(-1); err != nil {
				return err
			}
			if err := b.next(); err != nil {
				return err
			}
			if c, err = b.peek(); err != nil {
				return err
			}
			if c == ',' {
				b.pos++
				if c, err = b.peek(); err != nil {
					return err
				}
				continue
			}
			if c == ']' {
				break
			}
			if c < 0 {
				return malformed("the JSON body ends too early (after entry %d)", b.entries()-1)
			}
			return malformed("malformed JSON at byte %d: expected ',' or ']' after entry %d, found %s",
				b.off+int64(b.pos), b.entries()-1, b.describe())
		}
	}
	b.pos++ // ']'
	if c, err = b.peek(); err != nil {
		return err
	}
	if c >= 0 {
		return malformed("the body has data after the JSON array (at byte %d)", b.off+int64(b.pos))
	}
	return nil
}

// readLines reads NDJSON: one member per line, blank lines skipped.
func (b *bulkReader) readLines() error {
	b.lines = []int{}
	for line := 1; ; line++ {
		nl := bytes.IndexByte(b.buf[b.pos:b.end], '\n')
		for nl < 0 && !b.eof {
			if b.end-b.pos > MaxBody {
				return lineTooLong(line)
			}
			if _, err := b.fill(); err != nil {
				return err
			}
			nl = bytes.IndexByte(b.buf[b.pos:b.end], '\n')
		}
		end := b.end
		if nl >= 0 {
			end = b.pos + nl
		}
		if end-b.pos > MaxBody {
			return lineTooLong(line)
		}
		text := bytes.TrimRight(b.buf[b.pos:end], " \t\r")
		if len(bytes.TrimLeft(text, " \t")) > 0 {
			if err := b.lineMember(text, line); err != nil {
				return err
			}
			if err := b.next(); err != nil {
				return err
			}
		}
		if nl < 0 {
			return nil
		}
		b.pos = end + 1
	}
}

func lineTooLong(line int) error {
	return problem(http.StatusRequestEntityTooLarge, "body-too-large",
		fmt.Sprintf("line %d is longer than %d bytes, the most one member may take; put one member per line", line, MaxBody))
}

// lineMember decodes the member on one NDJSON line.
func (b *bulkReader) lineMember(text []byte, line int) error {
	if b.entries() >= b.most {
		return tooManyMembers(b.most)
	}
	s := jsonScanner{b: text, base: b.off + int64(b.pos), final: true}
	s.ws()
	if text[s.i] == '[' {
		return malformed("line %d holds a JSON array: NDJSON takes one member object per line (for a JSON array send Content-Type: application/json)", line)
	}
	err := b.decode(&s)
	switch {
	case errors.Is(err, errEnd):
		return malformed("line %d: the JSON object does not end on its line; put each member on one line", line)
	case err != nil:
		return within(err, fmt.Sprintf("line %d", line))
	}
	s.ws()
	if s.i < len(s.b) {
		return malformed("line %d: data after the JSON object (at byte %d); put one member per line", line, s.base+int64(s.i))
	}
	b.lines = append(b.lines, line)
	return nil
}

// member decodes the array entry at b.pos, reading more of the body as
// needed.
func (b *bulkReader) member(line int) error {
	if b.entries() >= b.most {
		return tooManyMembers(b.most)
	}
	entry := b.entries()
	tooLarge := func(base int64) error {
		return problem(http.StatusRequestEntityTooLarge, "body-too-large",
			fmt.Sprintf("entry %d (at byte %d) is larger than %d bytes, the most one member may take", entry, base, MaxBody))
	}
	for {
		s := jsonScanner{b: b.buf[b.pos:b.end], base: b.off + int64(b.pos), final: b.eof}
		err := b.decode(&s)
		if errors.Is(err, errShort) {
			if b.end-b.pos > MaxBody {
				return tooLarge(s.base)
			}
			if _, err := b.fill(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return within(err, fmt.Sprintf("entry %d", entry))
		}
		if s.i > MaxBody {
			return tooLarge(s.base)
		}
		b.pos += s.i
		return nil
	}
}

// decode reads one member from s: on malformed JSON it returns the error
// and records nothing; otherwise it appends the member, with its error if
// it is not a valid one.
func (b *bulkReader) decode(s *jsonScanner) error {
	c := s.b[s.i]
	if c != '{' {
		if err := s.value(); err != nil {
			return err
		}
		b.ins = append(b.ins, models.MemberInput{})
		b.errs = append(b.errs, &models.InputError{Detail: "each member must be a JSON object, not " + jsonKind(c)})
		return nil
	}
	var err error
	if b.fields, err = s.fields(b.fields[:0]); err != nil {
		return err
	}
	var in models.MemberInput
	id, ok := fieldValue(b.fields, "id")
	if ok {
		in.ID, ok = jsonText(id)
	}
	switch {
	case s.bad != nil:
		err = jsonError(s.bad)
	case !ok:
		err = &models.InputError{Field: "id", Detail: `each member needs an "id" string`}
	default:
		err = memberFromJSON(b.fields, &in)
	}
	b.ins = append(b.ins, in)
	b.errs = append(b.errs, err)
	return nil
}

// within says where in a bulk body malformed JSON is.
func within(err error, where string) error {
	err = jsonError(err)
	var p *Problem
	if errors.As(err, &p) {
		p.Detail = where + ": " + p.Detail
	}
	return err
}

// fieldValue finds a field by name.
func fieldValue(fs []jsonField, name string) ([]byte, bool) {
	for _, f := range fs {
		if string(f.name) == name {
			return f.val, true
		}
	}
	return nil, false
}

func tooManyMembers(most int) error {
	return problem(http.StatusRequestEntityTooLarge, "too-many-members", fmt.Sprintf("more than %d members; at most %d per call", most, most))
}

// parallel runs fn(0..n-1) on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(n/1000, 1))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func itemError(i int, id string, err error) ItemError {
	var ie *models.InputError
	if errors.As(err, &ie) {
		return ItemError{Index: i, ID: id, Field: ie.Field, Detail: ie.Detail}
	}
	return ItemError{Index: i, ID: id, Detail: err.Error()}
}
