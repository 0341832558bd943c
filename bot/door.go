package bot

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// The door (rule door: app). Where the bot is the chat's guard bot, a join
// request from someone who does not qualify yet is answered, within the
// query's 10 seconds, with the Mini App (sendChatJoinRequestWebApp) rather
// than declined. The request is held open (models.OpenDoor, an outbox
// action due after Options.DoorWait); each visit to the Mini App (Visit)
// shows the person where they stand and, once they qualify, approves the
// request through its query. Borderline people (borderline) are queued
// for the chat's admins. A request still open when its time comes is
// decided by the worker (execDoor) exactly as it would have been at once.

// doorStore is what the door needs of the store.
type doorStore interface {
	OpenDoor(ctx context.Context, chatKey string, tgUserID int64, p models.DoorPayload, decideAt time.Time) (int64, bool, error)
	DoorFor(ctx context.Context, chatKey string, tgUserID int64) (*models.Door, error)
	CloseDoor(ctx context.Context, actionID int64, outcome string) (bool, error)
	ReopenDoor(ctx context.Context, actionID int64, cause error) error
	SetDoorOutcome(ctx context.Context, actionID int64, outcome string) error
}

var _ door.Doors = (*Bot)(nil)

// doorSkew is how much earlier than its join request an initData may be
// signed and still act on it: clocks and whole seconds.
const doorSkew = 5 * time.Second

// openDoor shows the requester the chat's Mini App and holds the request
// open; false when the chat's door is silent or the Mini App could not be
// shown (the caller then decides as always).
func (b *Bot) openDoor(ctx context.Context, u *update, row *models.ChatRow, c *gate.Chat) bool {
	if c.Door != gate.DoorApp || b.opts.DoorURL == "" {
		return false
	}
	r := u.ChatJoinRequest
	p := models.DoorPayload{QueryID: u.JoinQueryID, ChatID: r.Chat.ID, UserChatID: r.UserChatID, Date: int64(r.Date),
		Lang: r.From.LanguageCode, FirstName: r.From.FirstName, Username: r.From.Username}
	id, fresh, err := b.store.OpenDoor(ctx, row.ChatKey, r.From.ID, p, b.opts.Now().Add(b.opts.DoorWait))
	if err != nil {
		b.log.WarnContext(ctx, "door: hold the join request open; deciding it now", "chat", row.ChatKey, "user", r.From.ID, "err", err)
		return false
	}
	if !fresh {
		return true // shown (or decided) when this update was processed before
	}
	err = b.c.do(ctx, r.Chat.ID, callOther, func(ctx context.Context) error {
		return b.c.call(ctx, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": u.JoinQueryID, "web_app_url": doorURL(b.opts.DoorURL, row.ChatKey)}, nil)
	})
	b.metrics.sent("sendChatJoinRequestWebApp", err)
	if err != nil {
		b.log.WarnContext(ctx, "door: the Mini App was not shown; deciding the request now", "chat", row.ChatKey, "user", r.From.ID, "err", err)
		if _, cerr := b.store.CloseDoor(ctx, id, "fallback: "+err.Error()); cerr != nil {
			b.log.WarnContext(ctx, "door: close", "err", cerr)
		}
		return false
	}
	b.metrics.join("app", true, time.Since(time.Unix(int64(r.Date), 0)))
	b.log.InfoContext(ctx, "join request at the door: Mini App shown", "chat", row.ChatKey, "user", r.From.ID)
	return true
}

// doorURL is the Mini App's URL for a chat.
func doorURL(base, chatKey string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "chat=" + url.QueryEscape(chatKey)
}

// borderline says whether a request that the chat's door or review: rule
// leaves to its admins, and why in one line: someone in grace, someone
// exempt by an override whom the rules alone would not admit, and, with
// review: true, a linked member in the right group short of karma only.
func (b *Bot) borderline(c *gate.Chat, m *models.Member, st *models.ChatState) (string, bool) {
	if m == nil || (c.Door != gate.DoorApp && !c.Review) {
		return "", false
	}
	ev := b.rules.Evaluate(c, gate.Member{Karma: m.Karma, Groups: m.Groups(), Linked: true}, gate.OverrideNone, gate.Status{}, b.opts.Now())
	state := gate.StateNone
	if st != nil {
		state = gate.State(st.State)
	}
	switch {
	case state == gate.StateGrace:
		return "in grace: " + st.Reason, true
	case state == gate.StateExempt && ev.Reason.Code != gate.ReasonQualifies:
		return "exempt by an admin's override; by the rules: " + ev.Reason.String(), true
	case c.Review && !admits(state) && ev.Reason.Code == gate.ReasonKarmaLow:
		return "review: " + ev.Reason.String(), true
	}
	return "", false
}

// doorUpdate rebuilds the join request a door holds, as decideJoin and
// answerJoin take it; its key (negative) never meets a real update's.
func doorUpdate(d *models.Door) *update {
	u := &update{JoinQueryID: d.Payload.QueryID, Seq: -d.ActionID}
	u.ChatJoinRequest = &tgmodels.ChatJoinRequest{
		Chat:       tgmodels.Chat{ID: d.Payload.ChatID, Type: "supergroup"},
		From:       tgmodels.User{ID: d.TgUserID, FirstName: d.Payload.FirstName, Username: d.Payload.Username, LanguageCode: d.Payload.Lang},
		UserChatID: d.Payload.UserChatID,
		Date:       int(d.Payload.Date),
	}
	return u
}

// execDoor decides a request still open when its time came, as it would
// have been decided at once.
func (b *Bot) execDoor(ctx context.Context, a *models.Action) error {
	d, err := models.DoorOf(a)
	if err != nil {
		return worker.Permanent(err)
	}
	c, ok := b.rules.Chat(a.ChatKey)
	if !ok {
		return worker.Permanent(fmt.Errorf("chat %q is no longer in the rules", a.ChatKey))
	}
	row, err := b.store.ChatRow(ctx, a.ChatKey)
	if err != nil {
		return err
	}
	verdict, err := b.decideJoin(ctx, doorUpdate(d), row, c, false)
	if err != nil {
		return err
	}
	b.log.InfoContext(ctx, "door: time ran out; decided as it stood", "chat", a.ChatKey, "user", d.TgUserID, "verdict", verdict)
	return b.store.SetDoorOutcome(ctx, a.ID, verdict+": the time at the door ran out")
}

// tellQueued tells whoever decides the chat's queued requests (the one who
// bound it, and the site admins) that from's request waits for them, and
// why, in one line; key makes it once per request.
func (b *Bot) tellQueued(ctx context.Context, row *models.ChatRow, c *gate.Chat, from *tgmodels.User, reason, key string) error {
	d := textData{Chat: c.Title, Reason: reason, Name: fullName(from), User: "id " + strconv.FormatInt(from.ID, 10)}
	if from.Username != "" {
		d.User = "@" + from.Username
	}
	admins := map[int64]bool{}
	if row.BoundBy != nil {
		admins[*row.BoundBy] = true
	}
	for id := range b.admins {
		admins[id] = true
	}
	for id := range admins {
		err := b.store.QueueNotice(ctx, row.ChatKey, id, "", models.NoticePayload{
			Key: fmt.Sprintf("queued/%s/%d", key, id), Kind: "door_queued", Text: b.texts.render(msgDoorQueued, "", d),
		})
		if err != nil {
			return err
		}
	}
	if len(admins) > 0 && b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}
