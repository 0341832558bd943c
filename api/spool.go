package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/karmagate/karmagate/models"
)

// spool keeps the checked members of a bulk import on disk, a JSON array
// a segment, between reading the body and writing them. Its file is
// unlinked at once: it goes away when closed, or when the process dies.
type spool struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
}

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "karmagate-bulk-*.json")
	if err != nil {
		return nil, fmt.Errorf("spool a bulk import: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool a bulk import: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	return &spool{f: f, w: w, enc: json.NewEncoder(w)}, nil
}

// put appends a segment.
func (s *spool) put(ins []models.MemberInput) error {
	if err := s.enc.Encode(ins); err != nil {
		return fmt.Errorf("spool a bulk import: %w", err)
	}
	return nil
}

// each calls fn with every segment put, in order; it may be called again
// (a transaction retried reads the spool again).
func (s *spool) each(fn func([]models.MemberInput) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool a bulk import: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read a bulk import's spool: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(s.f, 1<<20))
	for {
		var seg []models.MemberInput
		err := dec.Decode(&seg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read a bulk import's spool: %w", err)
		}
		if err := fn(seg); err != nil {
			return err
		}
	}
}

func (s *spool) close() { s.f.Close() }
