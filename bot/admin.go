package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
)

// Admin commands are answered in a private chat, in English (/pending and
// /confirm in the admin's language), for a chat's admins (checked with
// getChatMember) about the chats they administer, and the site admins
// (KARMAGATE_ADMINS) about every chat:
//
//	/status [chat]    who is in, who should be, what is pending
//	/rules            the rules of the chats you administer
//	/who <@user|id>   a member of your chats: their state and why
//	/sync             site admins: a full reconcile pass now, one at a time
//	/pending [chat]   removals held under dry run (also in a bound group)
//	/confirm [chat]   carry the held removals out (also in a bound group)
//	/exempt <member> <chat>, /unexempt <member> <chat>

// adminStore is what the admin commands need beyond the other concepts:
// the chats' summaries, overrides, and re-planning every member.
type adminStore interface {
	ChatSummaries(ctx context.Context) ([]models.ChatSummary, error)
	SetOverride(ctx context.Context, id, chat string, mode gate.Override, actor string) (*models.MemberView, error)
	ReplanAll(ctx context.Context, actor string) (int, error)
}

// adminChats returns the gated chats the user may administer: every chat
// for a site admin, else the bound chats where Telegram says they are an
// admin. With key set, only that chat (an error when they may not).
func (b *Bot) adminChats(ctx context.Context, userID int64, key string) ([]models.ChatRow, error) {
	rows, err := b.store.ChatRows(ctx)
	if err != nil {
		return nil, err
	}
	var out []models.ChatRow
	for _, r := range rows {
		if key != "" && r.ChatKey != key {
			continue
		}
		ok := b.isSiteAdmin(userID)
		if !ok && r.TgChatID != nil {
			if ok, err = b.isChatAdmin(ctx, *r.TgChatID, userID); err != nil {
				return nil, err
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	if key != "" && len(out) == 0 {
		if !b.isSiteAdmin(userID) {
			// The same answer for a chat that does not exist and one of
			// someone else's: a group admin learns no chat key.
			return nil, fmt.Errorf("you administer no gated chat %q", key)
		}
		return nil, fmt.Errorf("there is no gated chat %q; the rules name %s", key, strings.Join(b.chatKeys(), ", "))
	}
	return out, nil
}

func (b *Bot) chatKeys() []string {
	keys := make([]string, len(b.rules.Chats))
	for i, c := range b.rules.Chats {
		keys[i] = c.Key
	}
	return keys
}

// onAdminCommand runs an admin command and answers in the private chat.
func (b *Bot) onAdminCommand(ctx context.Context, u *update, cmd, args string) error {
	from := u.Message.From
	text, err := b.adminCommand(ctx, from.ID, cmd, args, from.LanguageCode)
	var refusal *adminRefusal
	if errors.As(err, &refusal) {
		text, err = refusal.msg, nil
	}
	if err != nil {
		return err
	}
	if refusal != nil {
		// A refusal to someone who administers no gated chat is throttled
		// like any answer to a stranger; a chat's admin is always answered.
		rows, err := b.adminChats(ctx, from.ID, "")
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return b.reply(ctx, u, from.ID, nil, text, nil)
		}
		return b.answer(ctx, u, from.ID, nil, text, nil)
	}
	if cmd == "confirm" {
		return b.queuedReply(ctx, u, "", from.ID, "reply", text)
	}
	return b.answer(ctx, u, from.ID, nil, text, nil)
}

// adminRefusal is an answer that explains why a command did nothing.
type adminRefusal struct{ msg string }

func (e *adminRefusal) Error() string { return e.msg }

func refuse(format string, args ...any) error {
	return &adminRefusal{msg: fmt.Sprintf(format, args...)}
}

func (b *Bot) adminCommand(ctx context.Context, userID int64, cmd, args, lang string) (string, error) {
	fields := strings.Fields(args)
	arg := func(i int) string {
		if i < len(fields) {
			return fields[i]
		}
		return ""
	}
	chats := func(key string) ([]models.ChatRow, error) {
		rows, err := b.adminChats(ctx, userID, key)
		if err != nil {
			return nil, refuse("%s", err.Error())
		}
		if len(rows) == 0 {
			return nil, refuse("You are not an admin of any gated chat. Admins of a bound group, and the site's admins, may use /%s.", cmd)
		}
		return rows, nil
	}
	switch cmd {
	case "status":
		rows, err := chats(arg(0))
		if err != nil {
			return "", err
		}
		return b.statusText(ctx, rows)
	case "rules":
		rows, err := chats(arg(0))
		if err != nil {
			return "", err
		}
		return b.rulesText(rows), nil
	case "who":
		rows, err := chats("")
		if err != nil {
			return "", err
		}
		return b.whoText(ctx, arg(0), rows, b.isSiteAdmin(userID))
	case "sync":
		if !b.isSiteAdmin(userID) {
			return "", refuse("Only the site's admins (KARMAGATE_ADMINS) may run /sync: a pass goes over every member and every chat. It runs on its own every few hours.")
		}
		by := fmt.Sprintf("bot:%d", userID)
		ctx, done, err := b.startSync(ctx, by)
		if err != nil {
			return "", err
		}
		defer done()
		if b.opts.Sync != nil {
			report, err := b.opts.Sync(ctx, by)
			if err != nil {
				return "", err
			}
			return "Reconciled: " + report, nil
		}
		n, err := b.store.ReplanAll(ctx, by)
		if err != nil {
			return "", err
		}
		if b.opts.WakeWorkers != nil {
			b.opts.WakeWorkers()
		}
		return fmt.Sprintf("Re-planned %d members against the rules; whatever changed is queued.", n), nil
	case "pending", "confirm":
		rows, err := chats(arg(0))
		if err != nil {
			return "", err
		}
		return b.pendingText(ctx, rows, cmd == "confirm", fmt.Sprintf("bot:%d", userID), lang)
	case "exempt", "unexempt":
		member, key := arg(0), arg(1)
		if member == "" || key == "" {
			return "", refuse("Usage: /%s <member id or @username> <chat>", cmd)
		}
		if _, err := chats(key); err != nil {
			return "", err
		}
		v, err := b.findMember(ctx, member)
		if err != nil {
			return "", err
		}
		mode := gate.OverrideAlways
		if cmd == "unexempt" {
			mode = gate.OverrideNone
		}
		v, err = b.store.SetOverride(ctx, v.Member.ExternalID, key, mode, fmt.Sprintf("bot:%d", userID))
		if err != nil {
			return "", err
		}
		if b.opts.WakeWorkers != nil {
			b.opts.WakeWorkers()
		}
		for _, st := range v.Chats {
			if st.ChatKey == key {
				return fmt.Sprintf("%s in %s: %s (%s).", v.Member.ExternalID, key, st.State, st.Reason), nil
			}
		}
		return "Done.", nil
	}
	return "", refuse("unknown command /%s", cmd)
}

// startSync takes the one /sync slot for by, or refuses with when the pass
// that holds it started: this instance's slot, and a lease in the database
// (SyncLease) for every instance's. The pass runs on the context it
// returns: it carries the lease's fencing token and ends if the lease is
// lost. done gives both back.
func (b *Bot) startSync(ctx context.Context, by string) (_ context.Context, done func(), err error) {
	b.mu.Lock()
	if b.syncing != nil {
		run := *b.syncing
		b.mu.Unlock()
		return nil, nil, refuse("A reconcile pass is already running: started at %s UTC by %s. Its report goes to whoever started it; wait for it.",
			run.at.UTC().Format("2006-01-02 15:04:05"), run.by)
	}
	b.syncing = &syncRun{at: b.opts.Now(), by: by}
	b.mu.Unlock()
	local := func() {
		b.mu.Lock()
		b.syncing = nil
		b.mu.Unlock()
	}
	l, err := b.leases.Acquire(ctx, SyncLease, b.opts.Owner, syncLeaseTTL)
	if errors.Is(err, lease.ErrHeld) {
		local()
		return nil, nil, refuse("A reconcile pass is already running on another instance: started at %s UTC. Its report goes to whoever started it; wait for it.",
			l.Since.UTC().Format("2006-01-02 15:04:05"))
	}
	if err != nil {
		local()
		return nil, nil, err
	}
	hctx, stop := b.leases.Hold(ctx, l, syncLeaseTTL)
	return hctx, func() {
		stop()
		if err := b.leases.Release(context.WithoutCancel(ctx), l); err != nil {
			b.log.WarnContext(ctx, "release the /sync lease", "err", err)
		}
		local()
	}, nil
}

// SyncLease names the database lease that lets one /sync pass run at a
// time across instances; a holder that dies frees it (its heart stops), or
// its TTL ends.
const SyncLease = "sync"

// syncLeaseTTL bounds a /sync pass's hold on the lease.
const syncLeaseTTL = time.Hour

// syncRun is the /sync pass running.
type syncRun struct {
	at time.Time
	by string
}

// findMember finds a member by website id or linked Telegram @username.
func (b *Bot) findMember(ctx context.Context, who string) (*models.MemberView, error) {
	var v *models.MemberView
	var err error
	if name, ok := strings.CutPrefix(who, "@"); ok {
		v, err = b.store.MemberByTgUsername(ctx, name)
	} else {
		v, err = b.store.FindMember(ctx, who)
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, noMember(who)
	}
	return v, err
}

// noMember is the answer about a member who does not exist and, to a group
// admin, about one who is not in their chats: alike, so that it tells
// nothing.
func noMember(who string) error {
	return refuse("No member %s among the chats you administer: give a website member id or the @username of a linked Telegram account.", who)
}

// visibleIn reports whether a member is one of the chats': inside one, or
// qualifying for one (let in, on the way in, in grace, being removed, or
// exempt).
func visibleIn(v *models.MemberView, rows []models.ChatRow) bool {
	for _, st := range v.Chats {
		for _, r := range rows {
			if r.ChatKey != st.ChatKey {
				continue
			}
			switch gate.State(st.State) {
			case gate.StateEligible, gate.StateInvited, gate.StateMember, gate.StateGrace, gate.StateRemoving, gate.StateExempt:
				return true
			}
			if st.InChat {
				return true
			}
		}
	}
	return false
}

func (b *Bot) statusText(ctx context.Context, rows []models.ChatRow) (string, error) {
	sums, err := b.store.ChatSummaries(ctx)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, r := range rows {
		var sum *models.ChatSummary
		for i := range sums {
			if sums[i].Chat.Key == r.ChatKey {
				sum = &sums[i]
			}
		}
		if sum == nil {
			continue
		}
		n := sum.Counts
		fmt.Fprintf(&sb, "%s (%s)\n", sum.Chat.Title, r.ChatKey)
		if r.TgChatID == nil {
			sb.WriteString("  not bound to a Telegram group yet: /bind " + r.ChatKey + " in the group, or /setup here\n")
		} else {
			fmt.Fprintf(&sb, "  group %d; bot: %s", *r.TgChatID, orUnknown(r.BotStatus))
			if !r.CanInvite {
				sb.WriteString(", cannot invite users (give it that right)")
			}
			if !r.CanRestrict {
				sb.WriteString(", cannot ban users (give it that right)")
			}
			if sum.Chat.Tag != "" && !r.CanManageTags {
				sb.WriteString(", cannot set member tags (give it can_manage_tags; tags are skipped)")
			}
			if r.Guard {
				sb.WriteString(", guard bot")
			}
			sb.WriteString("\n")
		}
		in := n[gate.StateMember] + n[gate.StateGrace] + n[gate.StateRemoving]
		should := n[gate.StateEligible] + n[gate.StateInvited] + n[gate.StateMember] + n[gate.StateGrace] + n[gate.StateExempt]
		fmt.Fprintf(&sb, "  in: %d · should be in: %d · invited: %d · waiting to link: %d · in grace: %d · being removed: %d · exempt: %d\n",
			in, should, n[gate.StateEligible]+n[gate.StateInvited], n[gate.StateNeedsLink], n[gate.StateGrace], n[gate.StateRemoving], n[gate.StateExempt])
		if r.TgChatID != nil {
			p, err := b.store.ChatPeople(ctx, r.ChatKey)
			if err != nil {
				return "", err
			}
			sb.WriteString(peopleText(p) + "\n") // people.go
		}
	}
	return strings.TrimSpace(sb.String()), nil
}

func orUnknown(s string) string {
	if s == "" {
		return "status unknown"
	}
	return s
}

func (b *Bot) rulesText(rows []models.ChatRow) string {
	var sb strings.Builder
	for _, r := range rows {
		c, ok := b.rules.Chat(r.ChatKey)
		if !ok {
			continue
		}
		groups := "any group"
		if !c.AnyGroup {
			groups = strings.Join(c.Groups, ", ")
		}
		fmt.Fprintf(&sb, "%s (%s): %s with karma >= %d", c.Title, c.Key, groups, c.MinKarma)
		if c.LeaveBelow != c.MinKarma {
			fmt.Fprintf(&sb, ", stay until below %d", c.LeaveBelow)
		}
		if c.Grace > 0 {
			fmt.Fprintf(&sb, ", grace %s", gate.FormatDuration(c.Grace))
		}
		fmt.Fprintf(&sb, ", on violation: %s\n", c.OnViolation)
	}
	return strings.TrimSpace(sb.String())
}

// whoText answers /who: all to a site admin, and to a group admin only
// about the members of the chats they administer (rows).
func (b *Bot) whoText(ctx context.Context, who string, rows []models.ChatRow, siteAdmin bool) (string, error) {
	if who == "" {
		return "", refuse("Usage: /who <member id or @username>")
	}
	v, err := b.findMember(ctx, who)
	if err != nil {
		return "", err
	}
	if !siteAdmin && !visibleIn(v, rows) {
		return "", noMember(who)
	}
	m := v.Member
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: karma %d, groups %s", m.ExternalID, m.Karma, strings.Join(m.Groups(), ", "))
	if m.TgUserID != nil {
		fmt.Fprintf(&sb, ", Telegram %d", *m.TgUserID)
		if m.TgUsername != nil {
			fmt.Fprintf(&sb, " (@%s)", *m.TgUsername)
		}
		sb.WriteString(b.reachNote(ctx, *m.TgUserID)) // unreachable.go
	} else {
		sb.WriteString(", not linked")
	}
	for _, st := range v.Chats {
		for _, r := range rows {
			if r.ChatKey == st.ChatKey {
				fmt.Fprintf(&sb, "\n%s: %s — %s", st.ChatKey, st.State, st.Reason)
			}
		}
	}
	return sb.String(), nil
}

// pendingShown is how many held removals /pending lists per chat.
const pendingShown = 20

// pendingText answers /pending (the removals held under dry run in each
// chat) and /confirm (releases them), in lang.
func (b *Bot) pendingText(ctx context.Context, rows []models.ChatRow, confirm bool, actor, lang string) (string, error) {
	var parts []string
	released := false
	for _, r := range rows {
		title := r.ChatKey
		if c, ok := b.rules.Chat(r.ChatKey); ok {
			title = c.Title + " (" + r.ChatKey + ")"
		}
		if confirm {
			before, err := b.store.ChatDryRun(ctx, r.ChatKey)
			if err != nil {
				return "", err
			}
			n, err := b.store.ConfirmRemovals(ctx, r.ChatKey, actor)
			if err != nil {
				return "", err
			}
			released = released || n > 0
			st, err := b.store.ChatDryRun(ctx, r.ChatKey)
			if err != nil {
				return "", err
			}
			parts = append(parts, b.texts.render(msgConfirmed, lang, textData{Chat: title, Count: int64(n), Configured: st.Configured, Breaker: before.BreakerOpen, DryRun: before.On}))
			continue
		}
		as, total, err := b.store.HeldRemovals(ctx, r.ChatKey, pendingShown)
		if err != nil {
			return "", err
		}
		st, err := b.store.ChatDryRun(ctx, r.ChatKey)
		if err != nil {
			return "", err
		}
		d := textData{Chat: title, Count: total, DryRun: st.On, Breaker: st.BreakerOpen}
		for _, a := range as {
			who := a.MemberExt
			if who == "" && a.TgUserID != nil {
				who = fmt.Sprintf("Telegram user %d", *a.TgUserID)
			}
			d.Removals = append(d.Removals, removalLine{Who: who, Reason: a.Reason, Breaker: a.Hold == models.HoldBreaker})
		}
		parts = append(parts, b.texts.render(msgPending, lang, d))
	}
	if released && b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return strings.Join(parts, "\n\n"), nil
}
