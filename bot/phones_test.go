package bot_test

import (
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestPhoneLinker_Bot: members who never opened the bot are linked by the
// phone the website gave, when Telegram says who has it (the bot's
// sendContact path); the others are recorded as unresolved and not asked
// again for a while.
func TestPhoneLinker_Bot(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		logChat := sandboxtest.MustChat(t, h.sb, owner.ID, "karmagate log")
		h.opts.logChat = logChat.BotAPIID()
		h = h.restart()
		open := sandboxtest.MustUser(t, h.sb, world.UserSpec{FirstName: "Open", Phone: "+15550201", Privacy: world.PrivacyEverybody})
		sandboxtest.MustUser(t, h.sb, world.UserSpec{FirstName: "Shy", Phone: "+15550202", Privacy: world.PrivacyNobody})
		h.putMember(models.MemberInput{ID: "open", Karma: 150, Groups: []string{"webmasters"}, Phone: ptr("+15550201")})
		h.putMember(models.MemberInput{ID: "shy", Karma: 150, Groups: []string{"webmasters"}, Phone: ptr("+15550202")})
		h.putMember(models.MemberInput{ID: "nobody", Karma: 150, Groups: []string{"webmasters"}})
		l, err := linking.NewPhoneLinker(linking.PhoneLinkerOptions{Store: h.store, Resolver: h.bot, AlreadyLinked: models.ErrAlreadyLinked, Now: h.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		round := func() int {
			t.Helper()
			total := 0
			for range 10 { // the log chat is a group: lookups wait their turn
				n, err := l.Round(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				total += n
				c, err := h.store.PhoneCandidates(h.ctx, h.clock.Now().Add(-time.Hour), 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(c) == 0 {
					break
				}
				time.Sleep(3500 * time.Millisecond)
			}
			return total
		}
		if n := round(); n != 1 {
			t.Errorf("linked %d, want 1", n)
		}
		if v := h.member("open"); v.Member.TgUserID == nil || *v.Member.TgUserID != open.ID {
			t.Errorf("open not linked to %d: %v", open.ID, v.Member.TgUserID)
		}
		if v := h.member("shy"); v.Member.TgUserID != nil {
			t.Errorf("shy linked though Telegram did not say who has the phone")
		}
		evs, err := h.store.Events(h.ctx, models.EventFilter{Member: "shy", Kind: models.EventPhoneLookup})
		if err != nil || len(evs) != 1 {
			t.Fatalf("shy's lookups: %+v, %v", evs, err)
		}
		contains(t, "shy's lookup", evs[0].Detail, "unresolved")
		if c, err := h.store.PhoneCandidates(h.ctx, h.clock.Now().Add(-time.Hour), 10); err != nil || len(c) != 0 {
			t.Errorf("candidates after a round: %+v, %v (shy was asked; nobody has no phone)", c, err)
		}
		h.clock.Advance(8 * 24 * time.Hour)
		if c, err := h.store.PhoneCandidates(h.ctx, h.clock.Now().Add(-7*24*time.Hour), 10); err != nil || len(c) != 1 || c[0].MemberID != "shy" {
			t.Errorf("candidates a week later: %+v, %v, want shy again", c, err)
		}
	})
}
