package linking

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ResolveStatus is what Telegram said about a phone number.
type ResolveStatus string

// The statuses of a Resolution.
const (
	// Resolved: the number belongs to the Telegram user named.
	Resolved ResolveStatus = "resolved"
	// Unresolved: Telegram did not say (privacy settings, no account with
	// that number, a path that does not reveal it). Not an error; asking
	// again later through the same path will most likely say the same.
	Unresolved ResolveStatus = "unresolved"
	// Limited: Telegram refused for now (flood wait); ask again after
	// RetryAfter.
	Limited ResolveStatus = "limited"
)

// Resolution is the answer about one phone number.
type Resolution struct {
	Status     ResolveStatus
	UserID     int64         // with Resolved
	Username   string        // with Resolved, when Telegram gave one
	RetryAfter time.Duration // with Limited: wait at least this long
	Via        string        // set by Chain: the resolver whose answer this is
	Attempts   []Attempt     // set by Chain: every resolver asked, in order
}

// Attempt is one resolver's part in a Chain's answer.
type Attempt struct {
	Resolver   string
	Status     ResolveStatus // empty when Err is set
	RetryAfter time.Duration
	Err        error
}

// PhoneResolver finds the Telegram user behind a phone number (E.164). The
// bot implements it with sendContact into KARMAGATE_LOG_CHAT, the userbot
// with contacts.importContacts; neither lives here. An error means the
// question could not be asked (network, configuration); what Telegram
// answered, including "nothing", is a Resolution.
type PhoneResolver interface {
	ResolvePhone(ctx context.Context, phone string) (Resolution, error)
}

// ResolverFunc adapts a function to PhoneResolver.
type ResolverFunc func(ctx context.Context, phone string) (Resolution, error)

// ResolvePhone calls f.
func (f ResolverFunc) ResolvePhone(ctx context.Context, phone string) (Resolution, error) {
	return f(ctx, phone)
}

// NamedResolver is a resolver with the name a Chain records it under
// ("bot", "userbot").
type NamedResolver struct {
	Name     string
	Resolver PhoneResolver
}

// Chain asks its resolvers in order until one resolves the number, and
// records each answer in Resolution.Attempts and the deciding one in Via.
// When none resolves the answer is, in this order: Limited (the shortest
// RetryAfter of those limited, since that path may answer then), an error
// (joining every resolver's error: the question was not fully asked),
// Unresolved (every resolver asked, none could say). The phone is normalised
// first; an invalid one is ErrPhoneInvalid. A Chain with no resolvers is an
// error.
type Chain []NamedResolver

// ResolvePhone asks each resolver in turn; see Chain.
func (c Chain) ResolvePhone(ctx context.Context, phone string) (Resolution, error) {
	if len(c) == 0 {
		return Resolution{}, errors.New("resolve phone: no resolver configured")
	}
	p, err := NormalizePhone(phone)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve phone: %w", err)
	}
	var (
		out     Resolution
		limited = -1 // index into out.Attempts of the soonest Limited
		errs    []error
	)
	for _, r := range c {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("resolve phone: %w", err)
		}
		res, err := r.Resolver.ResolvePhone(ctx, p)
		if err == nil {
			err = res.check()
		}
		a := Attempt{Resolver: r.Name, Err: err}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
		} else {
			a.Status, a.RetryAfter = res.Status, res.RetryAfter
		}
		out.Attempts = append(out.Attempts, a)
		switch {
		case err != nil:
		case res.Status == Resolved:
			out.Status, out.UserID, out.Username, out.Via = Resolved, res.UserID, res.Username, r.Name
			return out, nil
		case res.Status == Limited && (limited < 0 || res.RetryAfter < out.Attempts[limited].RetryAfter):
			limited = len(out.Attempts) - 1
		}
	}
	switch {
	case limited >= 0:
		a := out.Attempts[limited]
		out.Status, out.RetryAfter, out.Via = Limited, a.RetryAfter, a.Resolver
		return out, nil
	case len(errs) > 0:
		return out, fmt.Errorf("resolve phone: %w", errors.Join(errs...))
	default:
		out.Status = Unresolved
		return out, nil
	}
}

// check refuses an answer that contradicts itself.
func (r Resolution) check() error {
	switch r.Status {
	case Resolved:
		if r.UserID <= 0 {
			return errors.New("answered resolved without a user id")
		}
	case Unresolved:
	case Limited:
		if r.RetryAfter < 0 {
			return fmt.Errorf("answered limited with negative retry_after %s", r.RetryAfter)
		}
	default:
		return fmt.Errorf("answered unknown status %q", r.Status)
	}
	return nil
}
