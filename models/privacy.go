package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// MaxExportEvents bounds the events an export holds (newest first); the
// export says when there were more.
const MaxExportEvents = 10000

// MemberExport is everything karmagate holds on one member: what a
// data-subject access request returns.
type MemberExport struct {
	Member    Member
	Chats     []ChatState
	Overrides []OverrideRow
	// Links are the member's personal invite links.
	Links []MemberLink
	// Events is the member's audit trail, newest first, at most
	// MaxExportEvents; EventsTruncated says there were more.
	Events          []Event
	EventsTruncated bool
	// Notifications are the messages the bot sent or began to the member
	// (by member id or by their Telegram account).
	Notifications []Notice
	// Actions are the member's outbox actions still to run (pending,
	// running, held).
	Actions []Action
	// Tokens are the deep-link tokens issued for the member and not yet
	// pruned (stored as a hash: only their times).
	Tokens []ExportToken
	// Relinks are the requests to move the member to another Telegram
	// account, and those in which their account asked to take over
	// another member's link, not yet pruned.
	Relinks []Relink
}

// ExportToken is a deep-link token as an export shows it.
type ExportToken struct {
	ExpiresAt time.Time
	UsedAt    *time.Time
	UsedBy    *int64
	CreatedAt time.Time
}

// ExportMember gathers everything stored on member id, read in one
// transaction.
func (s *Store) ExportMember(ctx context.Context, id string) (*MemberExport, error) {
	out := &MemberExport{}
	err := s.db.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := takeOne[Member](tx.Where("external_id = ?", id), fmt.Sprintf("member %q", id))
		if err != nil {
			return err
		}
		out.Member = *m
		for _, q := range []struct {
			what string
			dst  any
			db   *gorm.DB
		}{
			{"chat states", &out.Chats, tx.Where("member_id = ?", m.ID).Order("chat_key")},
			{"overrides", &out.Overrides, tx.Where("member_id = ?", m.ID).Order("chat_key")},
			{"links", &out.Links, tx.Where("member_id = ?", m.ID).Order("chat_key")},
			{"events", &out.Events, tx.Where("member_ext = ?", id).Order("id DESC").Limit(MaxExportEvents + 1)},
			{"actions", &out.Actions, tx.Where("member_id = ? AND status IN ?", m.ID, []string{ActionPending, ActionRunning, ActionHeld}).Order("id")},
		} {
			if err := q.db.Find(q.dst).Error; err != nil {
				return fmt.Errorf("export member: read %s: %w", q.what, err)
			}
		}
		if len(out.Events) > MaxExportEvents {
			out.Events, out.EventsTruncated = out.Events[:MaxExportEvents], true
		}
		nq := tx.Where("member_ext = ?", id)
		if m.TgUserID != nil {
			nq = tx.Where("member_ext = ? OR tg_user_id = ?", id, *m.TgUserID)
		}
		if err := nq.Order("created_at, idem_key").Find(&out.Notifications).Error; err != nil {
			return fmt.Errorf("export member: read notifications: %w", err)
		}
		if err := relinksOf(tx, m).Order("id").Find(&out.Relinks).Error; err != nil {
			return fmt.Errorf("export member: read relink requests: %w", err)
		}
		var toks []linkToken
		if err := tx.Where("member_id = ?", m.ID).Order("created_at").Find(&toks).Error; err != nil {
			return fmt.Errorf("export member: read link tokens: %w", err)
		}
		for _, t := range toks {
			out.Tokens = append(out.Tokens, ExportToken{ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt, UsedBy: t.UsedBy, CreatedAt: t.CreatedAt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// relinksOf selects the relink requests about member m or naming their
// Telegram account.
func relinksOf(tx *gorm.DB, m *Member) *gorm.DB {
	if m.TgUserID == nil {
		return tx.Where("member_id = ?", m.ID)
	}
	return tx.Where("member_id = ? OR old_tg_user_id = ? OR new_tg_user_id = ?", m.ID, *m.TgUserID, *m.TgUserID)
}

// Erased says what EraseMember did.
type Erased struct {
	// Pseudonym replaces the member's ids, names and usernames in what
	// stays: "erased-" and 16 hex digits of a salted hash, the same in
	// every row, so that the audit trail keeps its counts.
	Pseudonym     string
	Actions       int   // removals queued, as DeleteMember
	Events        int64 // events rewritten
	Notifications int64 // notifications rewritten
	Updates       int64 // processed Telegram updates about them deleted
}

// EraseMember deletes member id as DeleteMember does (their removal from
// every chat is queued as usual) and, in the same transaction, replaces
// their external id, name, username, phone, Telegram id and Telegram
// username with a pseudonym in the audit events and notifications (and in
// their outbox actions, whose Telegram id goes once they have run); it
// deletes their deep-link tokens and the processed Telegram updates that
// name their account. Counts survive: every row stays, with the same
// pseudonym. The pseudonym is a hash salted with random bytes that are
// thrown away, so nobody, karmagate included, can tell whom it was.
func (s *Store) EraseMember(ctx context.Context, id, actor string) (Erased, error) {
	var out Erased
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := sha256.Sum256(append(salt, id...))
	out.Pseudonym = "erased-" + hex.EncodeToString(sum[:8])
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		out = Erased{Pseudonym: out.Pseudonym} // a retried transaction starts over
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		if out.Actions, err = s.deleteMemberTx(tx, m, actor); err != nil {
			return err
		}
		sc := newScrubber(m, out.Pseudonym)
		if out.Events, err = sc.events(tx, id); err != nil {
			return err
		}
		if out.Notifications, err = sc.notifications(tx, id, m.TgUserID); err != nil {
			return err
		}
		if err := sc.actions(tx, m.ID); err != nil {
			return err
		}
		if err := tx.Where("member_id = ?", m.ID).Delete(&linkToken{}).Error; err != nil {
			return fmt.Errorf("erase member: delete link tokens: %w", err)
		}
		if err := relinksOf(tx, m).Delete(&Relink{}).Error; err != nil {
			return fmt.Errorf("erase member: delete relink requests: %w", err)
		}
		if m.TgUserID != nil {
			if out.Updates, err = sc.updates(tx, *m.TgUserID); err != nil {
				return err
			}
			if err := tx.Where("tg_user_id = ?", *m.TgUserID).Delete(&telegramPhone{}).Error; err != nil {
				return fmt.Errorf("erase member: delete the verified phone: %w", err)
			}
		}
		if err := tx.Where("member_ext = ?", id).Delete(&oidcLogin{}).Error; err != nil {
			return fmt.Errorf("erase member: delete Telegram logins: %w", err)
		}
		return tx.Create(&Event{At: s.clock(), Actor: actor, Kind: EventMemberErased, MemberExt: &out.Pseudonym,
			Detail: fmt.Sprintf("personal data erased: %d events, %d notifications rewritten; %d Telegram updates deleted",
				out.Events, out.Notifications, out.Updates)}).Error
	})
	if err != nil {
		return Erased{}, err
	}
	return out, nil
}

// EventMemberErased records an erasure (under the pseudonym).
const EventMemberErased = "member.erased"

// scrubber replaces a member's identifiers in text with a pseudonym.
type scrubber struct {
	pseudonym string
	ids       []identifier
}

// identifier is one of a member's identifiers as a scrubber finds it.
type identifier struct {
	re   *regexp.Regexp // the identifier as a whole word (or number)
	like string         // a LIKE pattern that finds rows that may hold it
	// specific identifiers (the Telegram account's id and username, the
	// website username) are looked for in everyone's rows too; the others
	// (website id, name, phone: "1", "Alex") only in the member's own,
	// where over-matching costs nothing but other people's details must
	// not lose their numbers and words.
	specific bool
}

func newScrubber(m *Member, pseudonym string) *scrubber {
	sc := &scrubber{pseudonym: pseudonym}
	add := func(v *string, username bool) {
		if v == nil || strings.TrimSpace(*v) == "" {
			return
		}
		w := strings.TrimSpace(*v)
		flags := ""
		if username { // case-insensitive, with or without @
			flags, w = "(?i)", strings.TrimPrefix(w, "@")
		}
		// LIKE's wildcards in w only widen the search; the pattern decides.
		sc.ids = append(sc.ids, identifier{
			re:   regexp.MustCompile(flags + `(^|[^\pL\pN_@])@?` + regexp.QuoteMeta(w) + `($|[^\pL\pN_])`),
			like: "%" + w + "%", specific: username,
		})
	}
	add(&m.ExternalID, false)
	add(m.Name, false)
	add(m.Phone, false)
	add(m.Username, true)
	add(m.TgUsername, true)
	if m.TgUserID != nil {
		n := strconv.FormatInt(*m.TgUserID, 10)
		sc.ids = append(sc.ids, identifier{re: regexp.MustCompile(`(^|[^0-9])` + n + `($|[^0-9])`), like: "%" + n + "%", specific: true})
	}
	return sc
}

// text returns s with the identifiers replaced by the pseudonym: every one
// in the member's own rows, the specific ones in anyone's.
func (sc *scrubber) text(s string, own bool) string {
	repl := "${1}" + sc.pseudonym + "${2}"
	for _, id := range sc.ids {
		if !own && !id.specific {
			continue
		}
		// Twice: adjacent matches share the separator between them.
		for range 2 {
			s = id.re.ReplaceAllString(s, repl)
		}
	}
	return s
}

// mentions is the SQL condition (and its arguments) that finds rows whose
// column col may hold one of the specific identifiers; "1 = 0" when there
// is none.
func (sc *scrubber) mentions(col string) (string, []any) {
	var conds []string
	var args []any
	for _, id := range sc.ids {
		if id.specific {
			conds, args = append(conds, col+" LIKE ?"), append(args, id.like)
		}
	}
	if len(conds) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// events rewrites the member's events and any other event whose detail
// names their account, pruneChunk at a time.
func (sc *scrubber) events(tx *gorm.DB, id string) (int64, error) {
	cond, args := sc.mentions("detail")
	var n, after int64
	for {
		var evs []Event
		if err := tx.Where("id > ? AND (member_ext = ? OR "+cond+")", append([]any{after, id}, args...)...).
			Order("id").Limit(pruneChunk).Find(&evs).Error; err != nil {
			return n, fmt.Errorf("erase member: find events: %w", err)
		}
		for _, e := range evs {
			own := e.MemberExt != nil && *e.MemberExt == id
			upd := map[string]any{}
			if own {
				upd["member_ext"] = sc.pseudonym
			}
			if d := sc.text(e.Detail, own); d != e.Detail {
				upd["detail"] = d
			}
			if len(upd) == 0 {
				continue // a LIKE match inside another word
			}
			if err := tx.Model(&Event{}).Where("id = ?", e.ID).Updates(upd).Error; err != nil {
				return n, fmt.Errorf("erase member: rewrite event: %w", err)
			}
			n++
		}
		if len(evs) < pruneChunk {
			return n, nil
		}
		after = evs[len(evs)-1].ID
	}
}

// notifications rewrites the notifications sent to the member: by their
// id, or to their Telegram account (whose id is also in some keys).
func (sc *scrubber) notifications(tx *gorm.DB, id string, tgUserID *int64) (int64, error) {
	q := tx.Where("member_ext = ?", id)
	if tgUserID != nil {
		q = tx.Where("member_ext = ? OR tg_user_id = ?", id, *tgUserID)
	}
	var ns []Notice
	if err := q.Order("idem_key").Find(&ns).Error; err != nil {
		return 0, fmt.Errorf("erase member: find notifications: %w", err)
	}
	for _, no := range ns {
		upd := map[string]any{"member_ext": sc.pseudonym, "tg_user_id": 0, "detail": sc.text(no.Detail, true)}
		if k := sc.text(no.IdemKey, true); k != no.IdemKey {
			upd["idem_key"] = k
		}
		if err := tx.Model(&Notice{}).Where("idem_key = ?", no.IdemKey).Updates(upd).Error; err != nil {
			return 0, fmt.Errorf("erase member: rewrite notification: %w", err)
		}
	}
	return int64(len(ns)), nil
}

// actions rewrites the member's outbox actions: the member id everywhere;
// in settled ones also the Telegram id and the message. Those still to run
// (the removals just queued) keep the Telegram id they need.
func (sc *scrubber) actions(tx *gorm.DB, memberID int64) error {
	if err := tx.Model(&Action{}).Where("member_id = ?", memberID).Update("member_ext", sc.pseudonym).Error; err != nil {
		return fmt.Errorf("erase member: rewrite actions: %w", err)
	}
	var settled []Action
	if err := tx.Where("member_id = ? AND status IN ?", memberID, []string{ActionDone, ActionFailed, ActionCancelled}).Find(&settled).Error; err != nil {
		return fmt.Errorf("erase member: find settled actions: %w", err)
	}
	for _, a := range settled {
		upd := map[string]any{"tg_user_id": nil, "payload": nil, "last_error": sc.text(a.LastError, true), "reason": sc.text(a.Reason, true)}
		if k := sc.text(a.IdemKey, true); k != a.IdemKey {
			upd["idem_key"] = k
		}
		if err := tx.Model(&Action{}).Where("id = ?", a.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("erase member: rewrite action: %w", err)
		}
	}
	return nil
}

// names reports whether s holds one of the specific identifiers.
func (sc *scrubber) names(s string) bool {
	for _, id := range sc.ids {
		if id.specific && id.re.MatchString(s) {
			return true
		}
	}
	return false
}

// updates deletes the processed Telegram updates that name the account:
// they are raw Telegram JSON, with names and usernames in them.
func (sc *scrubber) updates(tx *gorm.DB, tgUserID int64) (int64, error) {
	var ups []Update
	if err := tx.Select("update_id, payload").Where("status IN ? AND payload LIKE ?",
		[]string{UpdateDone, UpdateFailed}, "%"+strconv.FormatInt(tgUserID, 10)+"%").Find(&ups).Error; err != nil {
		return 0, fmt.Errorf("erase member: find updates: %w", err)
	}
	var ids []int64
	for _, u := range ups {
		if sc.names(u.Payload) {
			ids = append(ids, u.UpdateID)
		}
	}
	var n int64
	err := chunks(ids, chunkSize, func(part []int64) error {
		res := tx.Where("update_id IN ?", part).Delete(&Update{})
		n += res.RowsAffected
		return res.Error
	})
	if err != nil {
		return n, fmt.Errorf("erase member: delete updates: %w", err)
	}
	return n, nil
}
