package userbot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/worker"
)

// phoneImportStore counts each account's phone imports, for the daily cap.
type phoneImportStore interface {
	RecordPhoneImport(ctx context.Context, id int64) error
	PhoneImportsSince(ctx context.Context, since time.Time) (map[int64]int, error)
}

// DefaultPhoneImportsPerDay is how many phones one account imports as
// contacts in 24 hours when phone imports are on: a handful, because
// Telegram's staff say importing dozens a day that are not the owner's
// own phone book gets accounts banned.
const DefaultPhoneImportsPerDay = 10

// retryContactsWait is how long an account whose import Telegram put in
// retry_contacts (an import limit, with no time given) imports nothing.
const retryContactsWait = 24 * time.Hour

// ErrPhoneImportOff means phone imports are off (KARMAGATE_PHONE_IMPORT).
var ErrPhoneImportOff = errors.New("phone lookups by contact import are off (KARMAGATE_PHONE_IMPORT=false): members link by deep link or the bot's Share my phone button")

// ResolvePhone finds the Telegram user behind a phone number
// (linking.PhoneResolver): an account imports it as a contact and deletes
// the contact again. It works only with Options.PhoneImport, within each
// account's daily budget. Telegram leaves out people whose privacy hides
// their number: Unresolved. A phone Telegram puts in retry_contacts (the
// account hit an import limit) is tried by another account; when every
// account must wait (pacing, FLOOD_WAIT, retry_contacts, the budget) the
// answer is Limited with the shortest wait.
func (p *Pool) ResolvePhone(ctx context.Context, phone string) (linking.Resolution, error) {
	if !p.opts.PhoneImport {
		return linking.Resolution{}, ErrPhoneImportOff
	}
	phone, err := linking.NormalizePhone(phone)
	if err != nil {
		return linking.Resolution{}, err
	}
	const method = "contacts.importContacts"
	imports, err := p.opts.Accounts.PhoneImportsSince(ctx, p.opts.Now().Add(-24*time.Hour))
	if err != nil {
		return linking.Resolution{}, err
	}
	skip := map[int64]bool{}
	var soonest time.Time // the earliest end of a wait met on the way
	limited := func(until time.Time) {
		if soonest.IsZero() || until.Before(soonest) {
			soonest = until
		}
	}
	spent := false // an account is out of budget
	for {
		a, err := p.pick(method, skip, func(a *account) bool {
			if imports[a.id] >= p.opts.PhoneImportsPerDay {
				spent = true
				return false
			}
			return true
		}, nil)
		var retry *worker.RetryError
		if errors.As(err, &retry) {
			limited(retry.At)
			err = errNoAccount
		}
		switch {
		case errors.Is(err, errNoAccount) && !soonest.IsZero():
			return linking.Resolution{Status: linking.Limited, RetryAfter: soonest.Sub(p.opts.Now())}, nil
		case errors.Is(err, errNoAccount) && spent:
			// Every account spent its daily budget.
			return linking.Resolution{Status: linking.Limited, RetryAfter: time.Hour}, nil
		case err != nil:
			return linking.Resolution{}, err
		}
		clientID := rand.Int64()
		res, err := a.tg().ContactsImportContacts(ctx, []tg.InputPhoneContact{{ClientID: clientID, Phone: phone, FirstName: "karmagate", LastName: "lookup"}})
		var we *waitError
		var le *lostError
		if errors.As(err, &we) {
			limited(we.Until)
			skip[a.id] = true
			continue
		}
		if errors.As(err, &le) {
			skip[a.id] = true
			continue
		}
		if err != nil {
			return linking.Resolution{}, err
		}
		if slices.Contains(res.RetryContacts, clientID) {
			// Not looked up: Telegram's import limit. Not "unresolved".
			until := p.opts.Now().Add(retryContactsWait)
			a.lim.block(method, until)
			if err := p.opts.Accounts.SetWait(ctx, a.id, method, until); err != nil {
				a.log.WarnContext(ctx, "record the import limit", "err", err)
			}
			a.log.WarnContext(ctx, "Telegram limits this account's contact imports (retry_contacts): it imports none for a day")
			limited(until)
			skip[a.id] = true
			continue
		}
		if err := p.opts.Accounts.RecordPhoneImport(ctx, a.id); err != nil {
			return linking.Resolution{}, fmt.Errorf("record the phone import: %w", err)
		}
		imports[a.id]++
		p.rememberUsers(ctx, a, res.Users)
		for _, u := range res.Users {
			uu, ok := u.(*tg.User)
			if !ok {
				continue
			}
			if _, err := a.tg().ContactsDeleteContacts(ctx, []tg.InputUserClass{&tg.InputUser{UserID: uu.ID, AccessHash: uu.AccessHash}}); err != nil {
				a.log.WarnContext(ctx, "delete the looked-up contact", "err", err)
			}
			return linking.Resolution{Status: linking.Resolved, UserID: uu.ID, Username: uu.Username}, nil
		}
		return linking.Resolution{Status: linking.Unresolved}, nil
	}
}
