package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
)

// WidgetLinker links a member through the Telegram Login Widget's signed
// fields. The bot provides it; without one, the route answers 503. A
// member linked to another Telegram account is not moved: pending is the
// request that account is asked to confirm.
type WidgetLinker interface {
	LoginWidget(ctx context.Context, memberID string, fields map[string]string) (v *models.MemberView, pending *models.Relink, err error)
}

// telegramLogin is POST /api/v1/members/{id}/telegram-login: the widget's
// fields as its JavaScript callback gives them (JSON) or as its redirect
// carries them (a form). The signature is checked with HMAC-SHA256 keyed by
// SHA-256 of the bot token; a payload older than a day, or used before, is
// refused, and so is an account other than the one the member's username
// names. The member is linked to the Telegram account the payload names;
// a member linked to another account is not moved: 202 says the account
// linked now was asked to confirm (as with a deep link).
func (s *Server) telegramLogin(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	kind, body, err := readBody(w, r, bodyJSON, bodyForm)
	if err != nil {
		return err
	}
	var fields map[string]string
	if kind == bodyJSON {
		if _, err := jsonObjectFields(body); err != nil {
			return err // duplicate names, bad UTF-8: refused as on every route
		}
		fields, err = linking.WidgetFieldsFromJSON(body)
	} else {
		fields, err = linking.WidgetFieldsFromForm(r.PostForm)
	}
	if err != nil {
		return widgetProblem(err)
	}
	if s.widget == nil {
		return problem(http.StatusServiceUnavailable, "bot-not-running",
			"the Login Widget is not available: it needs the Telegram bot, which is not running in this instance")
	}
	ctx, cancel := s.writeContext(r, 1)
	defer cancel()
	v, pending, err := s.widget.LoginWidget(ctx, id, fields)
	if err != nil {
		return widgetProblem(err)
	}
	if pending != nil {
		writeJSON(w, http.StatusAccepted, map[string]any{
			"status": "confirmation_pending",
			"detail": "the member is linked to another Telegram account, which was asked to confirm the move; nothing changes until it does. " +
				`If it cannot, POST /api/v1/members/{id}/link {"replace": true} gives a link that moves the member without it`,
			"expires_at": pending.ExpiresAt.UTC(),
			"_links":     map[string]any{"member": link(memberPath(id))},
		})
		return nil
	}
	out, err := s.render(r.Context(), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// widgetProblem says why a payload was refused; other errors pass through.
func widgetProblem(err error) error {
	switch {
	case errors.Is(err, linking.ErrWidgetMalformed):
		return problem(http.StatusUnprocessableEntity, "widget-malformed", "the Login Widget's fields are incomplete or malformed: "+err.Error())
	case errors.Is(err, linking.ErrWidgetForged):
		return problem(http.StatusForbidden, "widget-forged", "the Login Widget's signature does not match: pass its fields exactly as Telegram gave them")
	case errors.Is(err, linking.ErrWidgetStale):
		return problem(http.StatusForbidden, "widget-stale", "the Login Widget's data is older than a day (auth_date): ask the member to log in again")
	case errors.Is(err, linking.ErrWidgetForeign):
		return problem(http.StatusForbidden, "widget-foreign", "the Login Widget's account is another Telegram account than the one the member's username names: log in with that one, or change the member's username")
	case errors.Is(err, linking.ErrWidgetReplayed):
		return problem(http.StatusConflict, "widget-replayed", "this Login Widget payload was used already; each works once")
	}
	return err
}
