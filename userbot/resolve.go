package userbot

import (
	"context"
	"errors"
	"math/rand/v2"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/worker"
)

// ResolvePhone finds the Telegram user behind a phone number
// (linking.PhoneResolver): an account imports it as a contact and deletes
// the contact again. Telegram leaves out people whose privacy hides their
// number: Unresolved. When every account must wait (pacing, FLOOD_WAIT)
// the answer is Limited with the shortest wait.
func (p *Pool) ResolvePhone(ctx context.Context, phone string) (linking.Resolution, error) {
	phone, err := linking.NormalizePhone(phone)
	if err != nil {
		return linking.Resolution{}, err
	}
	const method = "contacts.importContacts"
	skip := map[int64]bool{}
	for {
		a, err := p.pick(method, skip, func(*account) bool { return true }, nil)
		var retry *worker.RetryError
		if errors.As(err, &retry) {
			return linking.Resolution{Status: linking.Limited, RetryAfter: retry.At.Sub(p.opts.Now())}, nil
		}
		if err != nil {
			return linking.Resolution{}, err
		}
		res, err := a.tg().ContactsImportContacts(ctx, []tg.InputPhoneContact{{ClientID: rand.Int64(), Phone: phone, FirstName: "karmagate", LastName: "lookup"}})
		var we *waitError
		var le *lostError
		if errors.As(err, &we) || errors.As(err, &le) {
			skip[a.id] = true
			continue
		}
		if err != nil {
			return linking.Resolution{}, err
		}
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
