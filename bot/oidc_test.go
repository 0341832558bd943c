package bot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_LinkOIDC: an account from Log in with Telegram is linked as a
// deep link links it: the account the member's username names only; a
// member linked to another account is not moved, that account is asked.
func TestBot_LinkOIDC(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		olga := h.person("Olga", "olga_tg")
		other := h.person("Otto", "otto_tg")
		h.putMember(models.MemberInput{ID: "olga", Karma: 150, Groups: []string{"webmasters"}, Username: ptr("olga_tg")})

		// Another account than the username names: refused.
		_, _, err := h.bot.LinkOIDC(h.ctx, "olga", linking.OIDCUser{ID: other.ID, Username: "otto_tg", Name: "Otto"})
		if !errors.Is(err, linking.ErrForeign) {
			t.Fatalf("foreign account: %v", err)
		}
		if v := h.member("olga"); v.Member.TgUserID != nil {
			t.Fatalf("linked to %d", *v.Member.TgUserID)
		}
		if _, _, err := h.bot.LinkOIDC(h.ctx, "nobody", linking.OIDCUser{ID: olga.ID}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown member: %v", err)
		}

		v, pending, err := h.bot.LinkOIDC(h.ctx, "olga", linking.OIDCUser{ID: olga.ID, Username: "olga_tg", Name: "Olga"})
		if err != nil || pending != nil || v.Member.TgUserID == nil || *v.Member.TgUserID != olga.ID {
			t.Fatalf("link: %v %+v %+v", err, pending, v)
		}

		// A member without a username, linked to olga's account, asked to
		// move to otto's: nothing moves, olga's account is asked.
		h.put("pat", 150, "webmasters")
		if _, _, err := h.bot.LinkOIDC(h.ctx, "pat", linking.OIDCUser{ID: other.ID, Username: "otto_tg", Name: "Otto"}); err != nil {
			t.Fatal(err)
		}
		pat := h.person("Pat", "pat_tg")
		h.reply(other.ID, "/start") // otto talks to the bot, so it may ask him
		before := len(h.received(other.ID))
		_, pending, err = h.bot.LinkOIDC(h.ctx, "pat", linking.OIDCUser{ID: pat.ID, Username: "pat_tg", Name: "Pat"})
		if err != nil || pending == nil {
			t.Fatalf("relink: %v %+v", err, pending)
		}
		if v := h.member("pat"); v.Member.TgUserID == nil || *v.Member.TgUserID != other.ID {
			t.Fatalf("pat moved without otto's word: %+v", v.Member.TgUserID)
		}
		h.eventually("otto asked to confirm", func() bool {
			for _, m := range h.received(other.ID)[before:] {
				if strings.Contains(m, "Pat") {
					return true
				}
			}
			return false
		})
	})
}
