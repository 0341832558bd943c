package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// Visit is a visit to the Mini App (door.Doors): the visitor's standing in
// the chat and, while their request is open, its decision once they
// qualify (approve) or are borderline (queue).
func (b *Bot) Visit(ctx context.Context, v door.Visitor) (door.Visit, error) {
	c, ok := b.rules.Chat(v.ChatKey)
	if !ok {
		return door.Visit{}, door.ErrUnknownChat
	}
	out := door.Visit{ChatKey: c.Key, ChatTitle: c.Title, Bar: c.MinKarma, Groups: c.Groups, AnyGroup: c.AnyGroup}
	d, err := b.store.DoorFor(ctx, c.Key, v.User.ID)
	switch {
	case errors.Is(err, models.ErrNotFound):
		d, out.Decision = nil, door.DecisionNoneOpen
	case err != nil:
		return door.Visit{}, err
	case v.AuthDate.Before(d.OpenedAt.Add(-doorSkew)):
		return door.Visit{}, door.ErrBeforeRequest
	}
	member, st, err := b.standing(ctx, c, v.User.ID, &out)
	if err != nil {
		return door.Visit{}, err
	}
	if d == nil {
		return out, nil
	}
	if !d.Open() {
		out.Decision, out.Reason = doorDecision(d, out.Reason)
		if out.Decision == door.DecisionNone {
			out.DecideAt = d.DecideAt // the worker is deciding it now
		}
		return out, nil
	}
	verdict, why := "", ""
	if w, ok := b.borderline(c, member, st); ok {
		verdict, why = joinQueue, w
	} else if st != nil && admits(gate.State(st.State)) {
		verdict, why = joinApprove, st.Reason
	}
	if verdict == "" {
		out.DecideAt = d.DecideAt
		return out, nil
	}
	won, err := b.store.CloseDoor(ctx, d.ActionID, verdict+": "+why)
	if err != nil {
		return door.Visit{}, err
	}
	if !won {
		// The worker (or another visit) got there first: show its outcome.
		if d, err = b.store.DoorFor(ctx, c.Key, v.User.ID); err != nil {
			return door.Visit{}, err
		}
		out.Decision, out.Reason = doorDecision(d, out.Reason)
		return out, nil
	}
	if err := b.answerJoin(ctx, doorUpdate(d), verdict); err != nil {
		if rerr := b.store.ReopenDoor(ctx, d.ActionID, err); rerr != nil {
			b.log.ErrorContext(ctx, "door: reopen after a failed answer", "err", rerr)
		}
		return door.Visit{}, fmt.Errorf("answer the join request: %w", err)
	}
	b.metrics.join(verdict, true, time.Since(time.Unix(d.Payload.Date, 0)))
	b.log.InfoContext(ctx, "join request decided at the door", "chat", c.Key, "user", v.User.ID, "verdict", verdict, "why", why)
	if verdict == joinQueue {
		u := doorUpdate(d)
		if row, err := b.store.ChatRow(ctx, c.Key); err != nil {
			b.log.WarnContext(ctx, "door: tell the admins", "err", err)
		} else if err := b.tellQueued(ctx, row, c, &u.ChatJoinRequest.From, why, u.key()); err != nil {
			b.log.WarnContext(ctx, "door: tell the admins", "err", err)
		}
	}
	out.Decision, out.Reason = doorDecision(&models.Door{Status: models.ActionDone, Outcome: verdict + ": " + why}, why)
	return out, nil
}

// standing fills in who userID is to karmagate and where they stand in
// chat c, and returns their member and state there (nil when not linked).
func (b *Bot) standing(ctx context.Context, c *gate.Chat, userID int64, out *door.Visit) (*models.Member, *models.ChatState, error) {
	mv, err := b.store.MemberByTelegram(ctx, userID)
	if errors.Is(err, models.ErrNotFound) {
		out.KarmaShort = c.MinKarma
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	m := mv.Member
	var st *models.ChatState
	for i := range mv.Chats {
		if mv.Chats[i].ChatKey == c.Key {
			st = &mv.Chats[i]
			out.Reason = st.Reason
		}
	}
	out.Linked, out.Karma, out.MemberGroups = true, m.Karma, m.Groups()
	out.Member = m.ExternalID
	if m.Name != nil && *m.Name != "" {
		out.Member = *m.Name
	}
	out.KarmaShort = c.MinKarma - m.Karma
	out.GroupMissing = !c.AnyGroup && !slices.ContainsFunc(c.Groups, func(g string) bool { return slices.Contains(out.MemberGroups, g) })
	return m, st, nil
}

// doorDecision reads how a door was decided; a door being decided shows
// as open, with what the caller knew.
func doorDecision(d *models.Door, standing string) (string, string) {
	if d.Status != models.ActionDone {
		return door.DecisionNone, standing
	}
	verdict, why, _ := strings.Cut(d.Outcome, ": ")
	switch verdict {
	case joinApprove:
		return door.DecisionApproved, why
	case joinQueue:
		return door.DecisionQueued, why
	case joinDecline:
		return door.DecisionDeclined, why
	}
	return door.DecisionNone, standing
}
