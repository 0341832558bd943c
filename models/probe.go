package models

import (
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// ActionProbe is the outbox kind of a probe: the bot asks Telegram
// (getChatMember) whether a member who has just linked is already inside
// one bound chat, and records what Telegram says. A bot cannot list a
// group's members, so a group bound over people already inside learns who
// they are as each of them links.
//
// The linking transaction queues one probe per chat bound by hand the member is
// not known to be in, before the actions its re-plan queues: ClaimActions
// runs one member's actions in one chat in id order, so the invite of a
// member who qualifies waits for the probe, and is superseded (no join
// link sent) when the probe finds them inside. A member inside who does
// not qualify is recorded inside and re-planned: their removal is queued,
// and held like any other under dry run or the breaker.
const ActionProbe = "probe"

// queueProbes queues the probes of member m, linked to Telegram user
// tgUserID in p's transaction, in every chat of the rules bound by hand
// whose state does not record them inside. It returns the chats probed, in the
// rules' order. Called before p.flush, so that the probes come before what
// the re-plan queues.
func (s *Store) queueProbes(p *planner, m *Member, tgUserID int64) ([]string, error) {
	// Where the account was seen inside as a stranger, it is probed
	// whatever the counts say; then it is a stranger no more: the account
	// belongs to a member now.
	var seen []string
	if err := p.tx.Model(&Stranger{}).Where("tg_user_id = ?", tgUserID).Pluck("chat_key", &seen).Error; err != nil {
		return nil, fmt.Errorf("load strangers: %w", err)
	}
	if err := forgetStranger(p.tx, tgUserID, ""); err != nil {
		return nil, err
	}
	// Groups bound by hand (/bind, /setup): a group karmagate created had
	// nobody inside but through karmagate, which Telegram reported.
	var rows []ChatRow
	if err := p.tx.Where("tg_chat_id IS NOT NULL").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load bound chats: %w", err)
	}
	var bound []string
	for i := range rows {
		hand, err := boundByHand(p.tx, &rows[i])
		if err != nil {
			return nil, err
		}
		if !hand {
			continue
		}
		if !slices.Contains(seen, rows[i].ChatKey) {
			unknown, err := unknownInside(p.tx, &rows[i])
			if err != nil {
				return nil, err
			}
			if !unknown {
				continue
			}
		}
		bound = append(bound, rows[i].ChatKey)
	}
	if len(bound) == 0 {
		return nil, nil
	}
	var inside []string
	if err := p.tx.Model(&ChatState{}).Where("member_id = ? AND in_chat = ?", m.ID, true).Pluck("chat_key", &inside).Error; err != nil {
		return nil, fmt.Errorf("load chat states: %w", err)
	}
	var probed []string
	for _, c := range s.rules.Chats {
		if !slices.Contains(bound, c.Key) || slices.Contains(inside, c.Key) {
			continue
		}
		// One probe per link: the key names the account and when it linked.
		key := fmt.Sprintf("%s/m%d/%s/u%d/%d", ActionProbe, m.ID, c.Key, tgUserID, p.now.UnixNano())
		_, err := s.insertFresh(p.tx, "actions", "idem_key",
			"kind, member_id, member_ext, chat_key, tg_user_id, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at",
			key, ActionProbe, m.ID, m.ExternalID, c.Key, tgUserID, 0, "linked: is the account inside already?", ActionPending, 0, p.now, "", p.now, p.now)
		if err != nil {
			return nil, fmt.Errorf("queue probe: %w", err)
		}
		probed = append(probed, c.Key)
	}
	return probed, nil
}

// unknownInside reports whether chat row's group may hold people karmagate
// does not know: true when they were never counted, or when the last count
// (at the bind, or /status since) is more than the members recorded inside
// and the strangers. Everyone who joins after the bind comes through an
// update karmagate records, so a group bound with nobody inside but its
// admins needs no probe, and linking there costs no call to Telegram.
func unknownInside(tx *gorm.DB, row *ChatRow) (bool, error) {
	if row.PeopleInside == nil {
		return true, nil
	}
	if *row.PeopleInside <= 0 {
		return false, nil
	}
	var known, strangers int64
	if err := tx.Model(&ChatState{}).Where("chat_key = ? AND in_chat = ?", row.ChatKey, true).Count(&known).Error; err != nil {
		return false, fmt.Errorf("count members inside: %w", err)
	}
	if err := tx.Model(&Stranger{}).Where("chat_key = ?", row.ChatKey).Count(&strangers).Error; err != nil {
		return false, fmt.Errorf("count strangers: %w", err)
	}
	return int64(*row.PeopleInside) > known+strangers, nil
}
