package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/linking"
)

var _ linking.PhoneStore = (*Store)(nil)

// EventPhoneLookup records one attempt to find a member's Telegram
// account by their phone, and what came of it.
const EventPhoneLookup = "phone.lookup"

// PhoneCandidates lists up to limit members who have a phone, no Telegram
// link, and no phone lookup recorded since since: those worth asking
// Telegram about. One query.
func (s *Store) PhoneCandidates(ctx context.Context, since time.Time, limit int) ([]linking.PhoneCandidate, error) {
	var rows []struct {
		ExternalID string
		Phone      string
	}
	err := s.db.read.WithContext(ctx).Table("members AS m").Select("m.external_id, m.phone").
		Where("m.phone IS NOT NULL AND m.tg_user_id IS NULL").
		Where("NOT EXISTS (SELECT 1 FROM events AS e WHERE e.member_ext = m.external_id AND e.kind = ? AND e.at >= ?)", EventPhoneLookup, since.UTC()).
		Order("m.id").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find members to look up by phone: %w", err)
	}
	out := make([]linking.PhoneCandidate, len(rows))
	for i, r := range rows {
		out[i] = linking.PhoneCandidate{MemberID: r.ExternalID, Phone: r.Phone}
	}
	return out, nil
}

// RecordPhoneLookup records the outcome of a phone lookup that linked
// nothing (unresolved, limited, or the account belongs to someone else).
func (s *Store) RecordPhoneLookup(ctx context.Context, memberID, outcome string) error {
	ext := memberID
	err := s.db.gorm.WithContext(ctx).Create(&Event{At: s.clock(), Actor: "phones", Kind: EventPhoneLookup, MemberExt: &ext, Detail: Truncate(outcome, 1000)}).Error
	if err != nil {
		return fmt.Errorf("record phone lookup: %w", err)
	}
	return nil
}

// LinkByPhone links a member who has no Telegram link yet to the account
// Telegram says has their phone, and re-plans them. It links nothing, and
// says so with ErrAlreadyLinked, when the account is another member's or
// the member got linked meanwhile; the lookup is recorded either way.
func (s *Store) LinkByPhone(ctx context.Context, memberID string, tgUserID int64, tgUsername, via string) error {
	_, err := s.changeMember(ctx, memberID, "phones:"+via, func(p *planner, m *Member) error {
		if m.TgUserID != nil {
			return fmt.Errorf("%s got linked meanwhile: %w", memberID, ErrAlreadyLinked)
		}
		var other Member
		err := p.tx.Where("tg_user_id = ?", tgUserID).Take(&other).Error
		if err == nil {
			return fmt.Errorf("the Telegram user %d is %s's: %w", tgUserID, other.ExternalID, ErrAlreadyLinked)
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("check link: %w", err)
		}
		m.TgUserID, m.LinkedAt, m.TgUsername = &tgUserID, &p.now, blankToNil(&tgUsername)
		if err := p.tx.Model(&Member{}).Where("id = ?", m.ID).Updates(map[string]any{
			"tg_user_id": tgUserID, "tg_username": m.TgUsername, "linked_at": p.now, "updated_at": p.now,
		}).Error; err != nil {
			return fmt.Errorf("link member: %w", err)
		}
		if _, err := s.queueProbes(p, m, tgUserID); err != nil {
			return err
		}
		p.event(EventLinked, m, "", fmt.Sprintf("linked to Telegram user %d found by the phone on the website (%s)", tgUserID, via))
		p.event(EventPhoneLookup, m, "", "resolved by "+via)
		p.callback(CallbackLinked, m, "", "")
		return nil
	})
	return err
}
