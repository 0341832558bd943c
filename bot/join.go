package bot

import (
	"context"
	"errors"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// Answers to a join-request query (Bot API 10.1).
const (
	joinApprove = "approve"
	joinDecline = "decline"
	joinQueue   = "queue" // leave it to the chat's admins
)

// admits reports whether a member in state st may enter the chat.
func admits(st gate.State) bool {
	switch st {
	case gate.StateEligible, gate.StateInvited, gate.StateMember, gate.StateExempt:
		return true
	}
	return false
}

// onJoinRequest decides a join request: approved only for a linked member
// whose state in that chat qualifies, so a leaked join link admits nobody
// else. Where the bot is the chat's guard bot the request carries a query
// that must be answered within 10 seconds (answerChatJoinRequestQuery);
// chats that flag rather than remove leave an unqualified request to their
// admins (queue). Someone declined is told why, within Telegram's 5-minute
// window for messaging a requester.
func (b *Bot) onJoinRequest(ctx context.Context, u *update) error {
	r := u.ChatJoinRequest
	b.requested(ctx, r.From.ID)
	row, err := b.store.ChatByTelegram(ctx, r.Chat.ID)
	if errors.Is(err, models.ErrNotFound) {
		if u.JoinQueryID != "" {
			return errUpdate(u, b.answerJoin(ctx, u, joinQueue))
		}
		return nil // not a gated chat: its admins decide
	}
	if err != nil {
		return errUpdate(u, err)
	}
	c, ok := b.rules.Chat(row.ChatKey)
	if !ok {
		return nil
	}
	_, err = b.decideJoin(ctx, u, row, c, true)
	return err
}

// decideJoin is onJoinRequest's decision for a gated chat, which it
// returns ("" when the Mini App was shown instead); mayOpen lets a door:
// app chat show its Mini App rather than decide now (door.go).
func (b *Bot) decideJoin(ctx context.Context, u *update, row *models.ChatRow, c *gate.Chat, mayOpen bool) (string, error) {
	r := u.ChatJoinRequest
	var st *models.ChatState
	var member *models.Member
	v, err := b.store.MemberByTelegram(ctx, r.From.ID)
	switch {
	case err == nil:
		member = v.Member
		for i := range v.Chats {
			if v.Chats[i].ChatKey == row.ChatKey {
				st = &v.Chats[i]
			}
		}
	case !errors.Is(err, models.ErrNotFound):
		return "", errUpdate(u, err)
	}
	verdict := joinDecline
	switch {
	case st != nil && admits(gate.State(st.State)):
		verdict = joinApprove
	case u.JoinQueryID != "" && c.OnViolation == gate.ViolationFlag:
		verdict = joinQueue
	}
	if u.JoinQueryID != "" {
		// The door (door.go): borderline people go to the admins; others
		// who do not qualify yet may see the Mini App first.
		if why, ok := b.borderline(c, member, st); ok {
			verdict = joinQueue
			b.log.InfoContext(ctx, "join request queued for the admins", "chat", row.ChatKey, "user", r.From.ID, "why", why)
			if err := b.tellQueued(ctx, row, c, &r.From, why, u.key()); err != nil {
				return "", errUpdate(u, err)
			}
		} else if verdict != joinApprove && mayOpen && b.openDoor(ctx, u, row, c) {
			return "", nil
		}
	}
	if err := b.answerJoin(ctx, u, verdict); err != nil {
		return "", errUpdate(u, err)
	}
	b.metrics.join(verdict, u.JoinQueryID != "", time.Since(time.Unix(int64(r.Date), 0)))
	b.log.InfoContext(ctx, "join request", "chat", row.ChatKey, "user", r.From.ID, "verdict", verdict, "guard", u.JoinQueryID != "")
	if verdict != joinDecline {
		return verdict, nil
	}
	d := textData{Chat: c.Title, Need: c.MinKarma}
	var ext *string
	if member == nil {
		d.Reason = (gate.Reason{Code: gate.ReasonStranger}).String()
	} else {
		ext = &member.ExternalID
		d.Reason = st.Reason
		if d.Reason == "" {
			d.Reason = "you do not qualify"
		}
	}
	// Queued, not sent here: a burst of requests must not wait for each
	// message's turn under Telegram's limits (the guard's 10 seconds).
	memberExt := ""
	if ext != nil {
		memberExt = *ext
	}
	err = b.store.QueueNotice(ctx, row.ChatKey, r.UserChatID, memberExt, models.NoticePayload{
		Key: "decline/" + u.key(), Kind: "join_declined", Text: b.texts.render(msgJoinDeclined, r.From.LanguageCode, d),
	})
	if err != nil {
		return "", errUpdate(u, err)
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return verdict, nil
}

// answerJoin carries out a verdict: through the request's query where
// there is one (falling back to approve/decline when the query has already
// expired), else with approve/declineChatJoinRequest. A request already
// handled counts as done.
func (b *Bot) answerJoin(ctx context.Context, u *update, verdict string) error {
	r := u.ChatJoinRequest
	if u.JoinQueryID != "" {
		err := b.c.do(ctx, r.Chat.ID, callOther, func(ctx context.Context) error {
			return b.c.call(ctx, "answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": u.JoinQueryID, "result": verdict}, nil)
		})
		b.metrics.sent("answerChatJoinRequestQuery", err)
		if err == nil || verdict == joinQueue {
			return ignoreDone(err)
		}
		b.log.WarnContext(ctx, "join-request query not answered; deciding the request directly", "chat", r.Chat.ID, "user", r.From.ID, "err", err)
	}
	var err error
	if verdict == joinApprove {
		err = b.c.do(ctx, r.Chat.ID, callOther, func(ctx context.Context) error {
			_, err := b.c.tg.ApproveChatJoinRequest(ctx, &tgbot.ApproveChatJoinRequestParams{ChatID: r.Chat.ID, UserID: r.From.ID})
			return err
		})
		b.metrics.sent("approveChatJoinRequest", err)
		if done, err := b.joinApprovalRefused(ctx, u, err); done {
			return err
		}
	} else {
		err = b.c.do(ctx, r.Chat.ID, callOther, func(ctx context.Context) error {
			_, err := b.c.tg.DeclineChatJoinRequest(ctx, &tgbot.DeclineChatJoinRequestParams{ChatID: r.Chat.ID, UserID: r.From.ID})
			return err
		})
		b.metrics.sent("declineChatJoinRequest", err)
	}
	return ignoreDone(err)
}

// ignoreDone drops errors that mean the effect is there already or there
// is nothing left to act on.
func ignoreDone(err error) error {
	switch classify(err) {
	case failAlready, failMissing:
		return nil
	}
	return err
}

// onChatMember records who is really in a gated chat. Someone inside who
// does not qualify is removed or flagged by the gate; a stranger (no member
// linked to the account) the same way, unless they are the chat's admin.
func (b *Bot) onChatMember(ctx context.Context, u *update) error {
	cm := u.ChatMember
	user := memberUser(&cm.NewChatMember)
	if user.IsBot || user.ID == 0 {
		return nil
	}
	in := present(&cm.NewChatMember)
	if in && isAdmin(&cm.NewChatMember) {
		// Admins are never removed; only a linked admin's presence counts.
		if _, err := b.store.MemberByTelegram(ctx, user.ID); errors.Is(err, models.ErrNotFound) {
			return nil
		} else if err != nil {
			return errUpdate(u, err)
		}
	}
	res, err := b.store.RecordMembershipOnce(ctx, u.ID, cm.Chat.ID, user.ID, in, "telegram")
	if errors.Is(err, models.ErrNotFound) {
		return nil // not a gated chat
	}
	if err != nil {
		return errUpdate(u, err)
	}
	if in && !res.Repeat && cm.InviteLink != nil && cm.InviteLink.MemberLimit == 1 {
		// A personal link is spent once someone joins through it; revoke
		// it, whoever that was (a stranger with a leaked link is removed).
		b.revokeUsedLink(ctx, res.Chat, cm.Chat.ID, cm.InviteLink.InviteLink)
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}

// onMyChatMember records the bot's own standing in a gated chat, and makes
// its join link once it can.
func (b *Bot) onMyChatMember(ctx context.Context, u *update) error {
	cm := u.MyChatMember
	row, err := b.store.ChatByTelegram(ctx, cm.Chat.ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return errUpdate(u, err)
	}
	st := botStanding(&cm.NewChatMember, u.BotCanManageTags)
	st.Guard = row.Guard
	if err := b.store.SetChatBot(ctx, row.ChatKey, st); err != nil {
		return errUpdate(u, err)
	}
	b.log.InfoContext(ctx, "bot's standing changed", "chat", row.ChatKey, "status", st.Status, "can_invite", st.CanInvite, "can_restrict", st.CanRestrict)
	if st.Status == "administrator" && st.CanInvite {
		row.BotStatus, row.CanInvite = st.Status, st.CanInvite
		if _, err := b.ensureJoinLink(ctx, row); err != nil {
			b.log.WarnContext(ctx, "make the chat's join link", "chat", row.ChatKey, "err", err)
		}
		if b.opts.WakeWorkers != nil {
			b.opts.WakeWorkers()
		}
	}
	return nil
}
