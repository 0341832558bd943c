package linking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// PhoneStore is what PhoneLinker needs of the storage.
type PhoneStore interface {
	// PhoneCandidates lists members with a phone, no link, and no lookup
	// since since.
	PhoneCandidates(ctx context.Context, since time.Time, limit int) ([]PhoneCandidate, error)
	// LinkByPhone links an unlinked member to a Telegram account; an
	// account that is another member's is an error for which
	// errors.Is(err, alreadyLinked) holds (see PhoneLinkerOptions).
	LinkByPhone(ctx context.Context, memberID string, tgUserID int64, tgUsername, via string) error
	// RecordPhoneLookup records a lookup that linked nothing.
	RecordPhoneLookup(ctx context.Context, memberID, outcome string) error
}

// PhoneCandidate is a member to look up.
type PhoneCandidate struct {
	MemberID string
	Phone    string
}

// PhoneLinkerOptions configures a PhoneLinker; Store and Resolver are
// required.
type PhoneLinkerOptions struct {
	Store    PhoneStore
	Resolver PhoneResolver
	// AlreadyLinked is the store's error for an account linked elsewhere.
	AlreadyLinked error
	// Every is how often a round runs; 10 minutes by default.
	Every time.Duration
	// Again is how long before a member looked up in vain is asked about
	// again; 7 days by default.
	Again time.Duration
	// Batch bounds one round; 20 by default (phone lookups are tightly
	// flood-limited by Telegram).
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
}

// PhoneLinker links members who never opened the bot by the phone the
// website gave: each round asks the resolver (the userbot's
// importContacts, then the bot's sendContact) about a few members not
// asked lately, links those Telegram names, and records honestly what came
// of the others. A flood wait ends the round; the next one starts later.
type PhoneLinker struct{ o PhoneLinkerOptions }

// NewPhoneLinker returns a PhoneLinker.
func NewPhoneLinker(o PhoneLinkerOptions) (*PhoneLinker, error) {
	if o.Store == nil || o.Resolver == nil {
		return nil, errors.New("phone linker: Store and Resolver are required")
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Minute
	}
	if o.Again <= 0 {
		o.Again = 7 * 24 * time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &PhoneLinker{o: o}, nil
}

// Run runs rounds until ctx ends.
func (l *PhoneLinker) Run(ctx context.Context) {
	t := time.NewTicker(l.o.Every)
	defer t.Stop()
	for {
		if n, err := l.Round(ctx); err != nil && ctx.Err() == nil {
			l.o.Logger.WarnContext(ctx, "phone lookups", "err", err)
		} else if n > 0 {
			l.o.Logger.InfoContext(ctx, "members linked by phone", "linked", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round looks up one batch and returns how many members it linked.
func (l *PhoneLinker) Round(ctx context.Context) (int, error) {
	o := &l.o
	cands, err := o.Store.PhoneCandidates(ctx, o.Now().Add(-o.Again), o.Batch)
	if err != nil {
		return 0, err
	}
	linked := 0
	for _, c := range cands {
		res, err := o.Resolver.ResolvePhone(ctx, c.Phone)
		switch {
		case err != nil && res.Status != Limited:
			if rerr := o.Store.RecordPhoneLookup(ctx, c.MemberID, "lookup failed: "+err.Error()); rerr != nil {
				return linked, rerr
			}
			continue
		case res.Status == Limited:
			return linked, nil // Telegram asks to wait: the next round goes on
		case res.Status != Resolved:
			via := res.Via
			if via == "" {
				via = "every resolver"
			}
			if err := o.Store.RecordPhoneLookup(ctx, c.MemberID, "unresolved: Telegram did not say who has this phone ("+via+")"); err != nil {
				return linked, err
			}
			continue
		}
		err = o.Store.LinkByPhone(ctx, c.MemberID, res.UserID, res.Username, res.Via)
		switch {
		case err == nil:
			linked++
		case o.AlreadyLinked != nil && errors.Is(err, o.AlreadyLinked):
			if err := o.Store.RecordPhoneLookup(ctx, c.MemberID, fmt.Sprintf("resolved to Telegram user %d, not linked: %v", res.UserID, err)); err != nil {
				return linked, err
			}
		default:
			return linked, err
		}
	}
	return linked, nil
}
