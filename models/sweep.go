package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// ExpireGrace re-plans every member whose grace period has ended, which
// queues their removal (or flag). It returns how many members it re-planned.
// A worker calls it periodically; the clock is the store's.
func (s *Store) ExpireGrace(ctx context.Context, actor string) (int, error) {
	var ids []int64
	err := s.db.read.WithContext(ctx).Model(&ChatState{}).Distinct("member_id").
		Where("state = ? AND grace_until <= ?", string(gate.StateGrace), s.clock()).
		Order("member_id").Limit(10000).Pluck("member_id", &ids).Error
	if err != nil {
		return 0, fmt.Errorf("find expired grace periods: %w", err)
	}
	return len(ids), chunks(ids, chunkSize, func(part []int64) error {
		return s.replanIDs(ctx, part, actor)
	})
}

// ReplanAll re-plans every member: after the rules changed, or to repair.
// It returns how many members it looked at. See ReplanEvery, which also
// says what changed.
func (s *Store) ReplanAll(ctx context.Context, actor string) (int, error) {
	r, err := s.ReplanEvery(ctx, actor)
	return r.Members, err
}

func (s *Store) replanIDs(ctx context.Context, ids []int64, actor string) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		var ms []Member
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id IN ?", ids).Order("id").Find(&ms).Error; err != nil {
			return fmt.Errorf("load members: %w", err)
		}
		ptrs := make([]*Member, len(ms))
		for i := range ms {
			ptrs[i] = &ms[i]
		}
		p := s.newPlanner(tx, actor)
		if err := p.plan(ptrs, false); err != nil {
			return err
		}
		return p.flush()
	})
}

// SyncRules re-plans everyone when the rules changed since the last call
// (by the rules' hash, kept in the database), and reports whether it did.
func (s *Store) SyncRules(ctx context.Context, actor string) (bool, error) {
	var row metaRow
	err := s.db.read.WithContext(ctx).Where("k = ?", "rules_hash").Take(&row).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return false, fmt.Errorf("read rules hash: %w", err)
	}
	if row.V == s.rules.Hash {
		return false, nil
	}
	n, err := s.ReplanAll(ctx, actor)
	if err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&metaRow{K: "rules_hash", V: s.rules.Hash}).Error; err != nil {
			return err
		}
		return tx.Create(&Event{At: s.clock(), Actor: actor, Kind: EventRulesChanged,
			Detail: fmt.Sprintf("rules %.12s loaded; %d members re-planned", s.rules.Hash, n)}).Error
	})
	if err != nil {
		return false, fmt.Errorf("record rules hash: %w", err)
	}
	return true, nil
}
