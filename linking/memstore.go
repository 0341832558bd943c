package linking

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// MemTokenStore is a TokenStore in memory, for tests (this package's and
// others'). The zero value is ready to use; it is safe for concurrent use.
type MemTokenStore struct {
	mu   sync.Mutex
	recs map[string]TokenRecord // by string(hash)
}

// SaveToken stores rec; a hash already stored is an error.
func (s *MemTokenStore) SaveToken(_ context.Context, rec TokenRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs == nil {
		s.recs = make(map[string]TokenRecord)
	}
	if _, dup := s.recs[string(rec.Hash)]; dup {
		return fmt.Errorf("save token: duplicate hash %x", rec.Hash)
	}
	rec.Hash = bytes.Clone(rec.Hash)
	s.recs[string(rec.Hash)] = rec
	return nil
}

// FindToken returns the record with this hash.
func (s *MemTokenStore) FindToken(_ context.Context, hash []byte) (TokenRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.recs[string(hash)]
	rec.Hash = bytes.Clone(rec.Hash)
	return rec, ok, nil
}

// TakeToken marks the record used if it is unused and expires after now.
func (s *MemTokenStore) TakeToken(_ context.Context, hash []byte, usedBy int64, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.recs[string(hash)]
	if !ok || !rec.UsedAt.IsZero() || !now.Before(rec.ExpiresAt) {
		return false, nil
	}
	rec.UsedAt, rec.UsedBy = now, usedBy
	s.recs[string(hash)] = rec
	return true, nil
}

// Len is the number of records held.
func (s *MemTokenStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// MemWidgetReplayStore is a WidgetReplayStore in memory, for tests. The zero
// value is ready to use; it is safe for concurrent use. Entries are dropped
// once their until has passed, judged by Now (time.Now when nil).
type MemWidgetReplayStore struct {
	Now func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time // hash → until
	nextSweep int
}

// MarkWidgetUsed records hash until the given time; fresh is false when it
// was recorded already.
func (s *MemWidgetReplayStore) MarkWidgetUsed(_ context.Context, hash string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[string]time.Time)
	}
	if len(s.seen) >= s.nextSweep {
		s.sweep()
	}
	if _, ok := s.seen[hash]; ok {
		return false, nil
	}
	s.seen[hash] = until
	return true, nil
}

// Len is the number of payloads remembered.
func (s *MemWidgetReplayStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// sweep drops what has expired; it runs when the map has doubled since the
// last sweep, so marking stays O(1) amortised.
func (s *MemWidgetReplayStore) sweep() {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now()
	for h, until := range s.seen {
		if until.Before(t) {
			delete(s.seen, h)
		}
	}
	s.nextSweep = max(64, 2*len(s.seen))
}
