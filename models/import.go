package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Import is a bulk upsert fed in parts within one transaction: a bulk call
// writes its members a segment at a time, so that what it holds in memory
// is one part, not the whole import.
type Import struct {
	s     *Store
	tx    *gorm.DB
	actor string
	now   time.Time
	res   PutResult
	n     int // members put
}

// Put writes part: members normalized, with ids that no other part of the
// import repeats. Each part is written in the store's batched statements
// (a few per part, whatever its size) and its decisions flushed before
// Put returns.
func (im *Import) Put(part []MemberInput) error {
	if len(part) == 0 {
		return nil
	}
	p := im.s.newPlanner(im.tx, im.actor)
	p.now, p.bulk = im.now, true
	if err := im.s.putChunk(p, part, &im.res); err != nil {
		return err
	}
	if err := p.flush(); err != nil {
		return err
	}
	im.res.Actions += len(p.actions)
	im.n += len(part)
	return nil
}

// ImportMembers runs feed in one transaction and commits what it Put,
// with one members.bulk event for the import; when feed returns an error
// nothing is written. feed runs again from the start when the transaction
// is retried (a deadlock). ctx bounds the wait to start, as for every
// write.
func (s *Store) ImportMembers(ctx context.Context, actor string, feed func(*Import) error) (PutResult, error) {
	var res PutResult
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		im := &Import{s: s, tx: tx, actor: actor, now: s.clock()}
		if err := feed(im); err != nil {
			return err
		}
		p := s.newPlanner(tx, actor)
		p.now = im.now
		p.event(EventBulkImport, nil, "", fmt.Sprintf("bulk upsert of %d members: %d created, %d updated, %d unchanged",
			im.n, im.res.Created, im.res.Updated, im.res.Unchanged))
		if err := p.flush(); err != nil {
			return err
		}
		res = im.res
		return nil
	})
	return res, err
}
