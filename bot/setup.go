package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
)

// bindStore binds chats of the rules to Telegram groups, and keeps the bind
// codes that let someone other than a site admin do so.
type bindStore interface {
	BindChatBy(ctx context.Context, key string, tgChatID, by int64, actor string) error
	UnbindChat(ctx context.Context, key, actor string) error
	TakeBindCode(ctx context.Context, key, code string, tgUserID int64) error
	BindCodeSpent(ctx context.Context, code string) (key string, usedBy int64, err error)
	PruneBindCodes(ctx context.Context, cutoff time.Time) (int64, error)
}

// The rights the bot asks for when an owner adds it with /setup: invite
// (join requests and links), ban (removals), delete messages, manage tags.
var botRights = map[string]bool{
	"is_anonymous": false, "can_manage_chat": true, "can_delete_messages": true, "can_manage_video_chats": false,
	"can_restrict_members": true, "can_promote_members": false, "can_change_info": false, "can_invite_users": true,
	"can_pin_messages": false, "can_manage_topics": false, "can_manage_tags": true,
}

// mayBind reports whether user may bind, rebind, unbind or /setup any
// group without a bind code: only a site admin (KARMAGATE_ADMINS). Being a
// group's creator is not enough: anyone can create a group.
func (b *Bot) mayBind(userID int64) bool { return b.isSiteAdmin(userID) }

// bindRefusal is the answer to anyone else: how to get a bind code, and no
// chat keys.
const bindRefusal = "Only a site admin may bind or unbind a group, or someone holding a bind code a site admin issued. " + howToGetCode

// howToGetCode says how a bind code is had.
const howToGetCode = "Ask the site's admin for a bind code for the chat: the \"Bind code\" button on its row of the dashboard's overview, " +
	"or karmagate bind-code KEY on the server prints one. Then send /bind KEY CODE in the group. A code works once, within 15 minutes."

// badCode answers a bind code that is unknown, spent, expired or another
// chat's: all alike.
const badCode = "That bind code is not valid: it is unknown, used, expired or for another chat. " +
	"Only a site admin may bind or unbind a group, or someone holding a bind code a site admin issued. " + howToGetCode

// onBind binds the group the command is sent in to a chat of the rules:
// /bind KEY from a site admin, /bind KEY CODE from anyone holding a bind
// code for KEY.
func (b *Bot) onBind(ctx context.Context, u *update, args string) error {
	m := u.Message
	admin := b.mayBind(m.From.ID)
	fields := strings.Fields(args)
	if len(fields) == 0 {
		if admin {
			return b.groupReply(ctx, u, m.Chat.ID, "Usage: /bind <chat key>. The rules name: "+strings.Join(b.chatKeys(), ", "))
		}
		return b.groupReply(ctx, u, m.Chat.ID, "Usage: /bind <chat key> <bind code>. "+howToGetCode)
	}
	key, code := fields[0], ""
	if len(fields) > 1 {
		code = fields[1]
	}
	byCode := false
	if !admin {
		if code == "" {
			b.log.InfoContext(ctx, "bind refused", "user", m.From.ID, "telegram_chat", m.Chat.ID)
			return b.groupReply(ctx, u, m.Chat.ID, bindRefusal)
		}
		// A group bound to another chat keeps the code unspent.
		if other, err := b.store.ChatByTelegram(ctx, m.Chat.ID); err == nil && other.ChatKey != key {
			return b.groupReply(ctx, u, m.Chat.ID, boundElsewhere)
		} else if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		err := b.store.TakeBindCode(ctx, key, code, m.From.ID)
		if errors.Is(err, models.ErrBindCode) {
			var mine bool
			if mine, err = b.spentHere(ctx, key, code, m.From.ID, m.Chat.ID); err == nil && !mine {
				b.log.InfoContext(ctx, "bind code refused", "user", m.From.ID, "telegram_chat", m.Chat.ID)
				return b.groupReply(ctx, u, m.Chat.ID, badCode)
			}
		}
		if err != nil {
			return err
		}
		byCode = true
	}
	text, err := b.bind(ctx, u, key, m.Chat.ID, groupName(m.Chat), m.From, byCode)
	if err != nil {
		return err
	}
	return b.groupReply(ctx, u, m.Chat.ID, text)
}

// spentHere reports whether this update spent the code before: handled
// again after it bound the chat (its answer had to wait for its turn, or
// the process died), it must answer as it would have, not "used".
func (b *Bot) spentHere(ctx context.Context, key, code string, userID, chatID int64) (bool, error) {
	spentFor, by, err := b.store.BindCodeSpent(ctx, code)
	if errors.Is(err, models.ErrBindCode) || err == nil && (spentFor != key || by != userID) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	row, err := b.store.ChatRow(ctx, key)
	if err != nil {
		return false, err
	}
	return row.TgChatID != nil && *row.TgChatID == chatID, nil
}

// groupName names a group for the site admins: its title and id.
func groupName(c tgmodels.Chat) string {
	if c.Title == "" {
		return fmt.Sprintf("group %d", c.ID)
	}
	return fmt.Sprintf("group %q (%d)", c.Title, c.ID)
}

// personName names a Telegram user for the site admins.
func personName(u *tgmodels.User) string {
	s := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if u.Username != "" {
		s += " @" + u.Username
	}
	return fmt.Sprintf("%s (Telegram id %d)", s, u.ID)
}

// tellSiteAdmins sends every site admin a DM about a bind or unbind,
// through the outbox (at most once each, keyed by the update).
func (b *Bot) tellSiteAdmins(ctx context.Context, u *update, kind, text string) error {
	for _, id := range b.opts.Admins {
		err := b.store.QueueNotice(ctx, "", id, "", models.NoticePayload{Key: fmt.Sprintf("%s/u%d/%d", kind, u.ID, id), Kind: kind, Text: text})
		if err != nil {
			return fmt.Errorf("tell site admin %d: %w", id, err)
		}
	}
	if len(b.opts.Admins) > 0 && b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}

const boundElsewhere = "This group is already bound to another chat of the rules; /unbind it there first."

// bind binds Telegram chat chatID (named group, for the site admins) to
// the rules' chat key for user, who is a site admin or spent a bind code,
// and says what happened in words for them. The site admins are told. A
// group that has people in it besides its admins starts in dry run
// (startDryRunIfPeopled).
func (b *Bot) bind(ctx context.Context, u *update, key string, chatID int64, group string, from *tgmodels.User, byCode bool) (string, error) {
	userID, lang := from.ID, from.LanguageCode
	c, ok := b.rules.Chat(key)
	if !ok {
		return fmt.Sprintf("There is no chat %q in the rules; they name %s.", key, strings.Join(b.chatKeys(), ", ")), nil
	}
	before, err := b.store.ChatRow(ctx, key)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return "", err
	}
	again := before != nil && before.TgChatID != nil && *before.TgChatID == chatID
	if other, err := b.store.ChatByTelegram(ctx, chatID); err == nil && other.ChatKey != key {
		return boundElsewhere, nil
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		return "", err
	}
	actor := fmt.Sprintf("bot:%d", userID)
	// Dry run starts before the binding: no removal can run in between.
	dryRun, inside := "", -1
	if !again {
		if dryRun, inside, err = b.startDryRunIfPeopled(ctx, key, chatID, actor, lang); err != nil {
			return "", err
		}
	}
	err = b.store.BindChatBy(ctx, key, chatID, userID, actor)
	if errors.Is(err, models.ErrChatBound) {
		return boundElsewhere, nil
	}
	if err != nil {
		return "", fmt.Errorf("bind %s: %w", key, err)
	}
	if inside >= 0 {
		// Recorded for this group (a rebind forgot the last one's): a
		// group bound with nobody but its admins inside needs no probe
		// when members link later (models' unknownInside).
		if err := b.store.SetPeopleInside(ctx, key, inside); err != nil {
			b.log.WarnContext(ctx, "record the people inside", "chat", key, "err", err)
		}
	}
	if dryRun != "" {
		if _, err := b.store.QueueSurvey(ctx, key, 0, "", "bound over a group with members: which linked members are inside"); err != nil {
			return "", err
		}
	}
	row, err := b.store.ChatRow(ctx, key)
	if err != nil {
		return "", err
	}
	var problems []string
	if err := b.refreshBot(ctx, row); err != nil {
		b.log.WarnContext(ctx, "read the bot's standing after /bind", "chat", key, "err", err)
	}
	if row.BotStatus != "administrator" || !row.CanInvite {
		problems = append(problems, "make me an admin with the right to invite users")
	}
	if !row.CanRestrict {
		problems = append(problems, "give me the right to ban users, or nobody who stops qualifying can be removed")
	}
	if len(problems) == 0 {
		if _, err := b.ensureJoinLink(ctx, row); err != nil {
			b.log.WarnContext(ctx, "make the join link after /bind", "chat", key, "err", err)
		}
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	b.log.InfoContext(ctx, "chat bound", "chat", key, "telegram_chat", chatID, "by", userID, "code", byCode)
	if !again {
		how := "as a site admin"
		if byCode {
			how = "with a bind code"
		}
		note := fmt.Sprintf("karmagate: %s (%s) is now bound to the Telegram %s by %s, %s.", c.Title, key, group, personName(from), how)
		if before != nil && before.TgChatID != nil {
			note += fmt.Sprintf(" It was bound to Telegram group %d before; that group is no longer gated.", *before.TgChatID)
		}
		if err := b.tellSiteAdmins(ctx, u, "chat_bound", note); err != nil {
			return "", err
		}
	}
	text := fmt.Sprintf("Bound to %s (%s). From now on members who qualify get in through the join link, and requests from anyone else are declined.", c.Title, key)
	if len(problems) > 0 {
		text += " Before I can: " + strings.Join(problems, "; ") + "."
	}
	if dryRun != "" {
		text += "\n\n" + dryRun
	}
	return text, nil
}

// onUnbind releases the group the command is sent in: /unbind from a site
// admin, /unbind CODE from anyone holding a bind code for its chat.
func (b *Bot) onUnbind(ctx context.Context, u *update, args string) error {
	m := u.Message
	admin := b.mayBind(m.From.ID)
	code, _, _ := strings.Cut(strings.TrimSpace(args), " ")
	if !admin && code == "" {
		return b.groupReply(ctx, u, m.Chat.ID, bindRefusal)
	}
	how := "as a site admin"
	if !admin {
		how = "with a bind code"
	}
	unbound := func(key string) error {
		note := fmt.Sprintf("karmagate: %s was unbound from the Telegram %s by %s, %s; it is not gated until it is bound again.",
			key, groupName(m.Chat), personName(m.From), how)
		if err := b.tellSiteAdmins(ctx, u, "chat_unbound", note); err != nil {
			return err
		}
		return b.groupReply(ctx, u, m.Chat.ID, fmt.Sprintf("Unbound from %s: I no longer gate this group.", key))
	}
	row, err := b.store.ChatByTelegram(ctx, m.Chat.ID)
	if errors.Is(err, models.ErrNotFound) {
		if !admin {
			// Handled again after this very code unbound the group: answer
			// as the first time.
			if key, by, err := b.store.BindCodeSpent(ctx, code); err == nil && by == m.From.ID {
				if row, err := b.store.ChatRow(ctx, key); err == nil && row.TgChatID == nil {
					return unbound(key)
				}
			}
		}
		return b.groupReply(ctx, u, m.Chat.ID, "This group is not bound to any chat of the rules.")
	}
	if err != nil {
		return err
	}
	if !admin {
		if err := b.store.TakeBindCode(ctx, row.ChatKey, code, m.From.ID); errors.Is(err, models.ErrBindCode) {
			return b.groupReply(ctx, u, m.Chat.ID, badCode)
		} else if err != nil {
			return err
		}
	}
	if err := b.store.UnbindChat(ctx, row.ChatKey, fmt.Sprintf("bot:%d", m.From.ID)); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	return unbound(row.ChatKey)
}

// setupRequestID marks the request_chat button of /setup.
const setupRequestID = 1

// onSetup offers a button that lets the owner pick one of their groups;
// Telegram adds the bot there with the rights it needs and tells the bot
// which group it was (chat_shared).
func (b *Bot) onSetup(ctx context.Context, u *update) error {
	from := u.Message.From
	if !b.mayBind(from.ID) {
		return b.reply(ctx, u, from.ID, nil, "/setup is for the site's admins. "+bindRefusal+" (Add me to the group as an admin first.)", nil)
	}
	markup := map[string]any{
		"keyboard": [][]map[string]any{{{
			"text": "Choose a group",
			"request_chat": map[string]any{
				"request_id": setupRequestID, "chat_is_channel": false,
				"user_administrator_rights": map[string]any{"is_anonymous": false, "can_manage_chat": true, "can_delete_messages": false,
					"can_manage_video_chats": false, "can_restrict_members": false, "can_promote_members": true, "can_change_info": false,
					"can_invite_users": false, "can_pin_messages": false, "can_manage_topics": false},
				"bot_administrator_rights": botRights,
				"bot_is_member":            true,
			},
		}}},
		"resize_keyboard": true, "one_time_keyboard": true,
	}
	text := "Pick the group to gate. Telegram will add me there as an admin with the rights I need (invite, ban, delete messages, manage tags); then I will ask which chat of the rules it is."
	return b.notify(ctx, models.Notice{IdemKey: u.key(), TgUserID: from.ID, Kind: "reply"}, text, rawMarkup(markup))
}

// rawMarkup lets a reply markup carry fields go-telegram/bot's types lack
// (can_manage_tags in the requested rights).
type rawMarkup map[string]any

// onChatShared asks which rule's chat the picked group is.
func (b *Bot) onChatShared(ctx context.Context, u *update) error {
	from, shared := u.Message.From, u.Message.ChatShared
	if shared.RequestID != setupRequestID {
		return nil
	}
	if !b.mayBind(from.ID) {
		return b.reply(ctx, u, from.ID, nil, bindRefusal, &tgmodels.ReplyKeyboardRemove{RemoveKeyboard: true})
	}
	rows, err := b.store.ChatRows(ctx)
	if err != nil {
		return err
	}
	var kb [][]tgmodels.InlineKeyboardButton
	for i, r := range rows {
		label := r.Title
		if r.TgChatID != nil {
			label += " (bound)"
		}
		kb = append(kb, []tgmodels.InlineKeyboardButton{{Text: label, CallbackData: fmt.Sprintf("bind:%d:%d", shared.ChatID, i)}})
	}
	return b.answer(ctx, u, from.ID, nil, "Which chat of the rules is this group?", &tgmodels.InlineKeyboardMarkup{InlineKeyboard: kb})
}

// onCallback handles inline button presses: the rule chosen after
// /setup, and the answers to relink requests.
func (b *Bot) onCallback(ctx context.Context, u *update) error {
	q := u.CallbackQuery
	if strings.HasPrefix(q.Data, relinkPrefix) {
		return errUpdate(u, b.onRelinkPress(ctx, u))
	}
	answer := func(text string) error {
		err := b.c.do(ctx, q.From.ID, callOther, func(ctx context.Context) error {
			_, err := b.c.tg.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text})
			return err
		})
		if classify(err) == failRefused {
			return nil // the query is too old: nothing to answer any more
		}
		return err
	}
	parts := strings.Split(q.Data, ":")
	if len(parts) != 3 || parts[0] != "bind" {
		return errUpdate(u, answer(""))
	}
	chatID, err1 := strconv.ParseInt(parts[1], 10, 64)
	idx, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || idx < 0 || idx >= len(b.rules.Chats) {
		return errUpdate(u, answer("That button is out of date."))
	}
	if !b.mayBind(q.From.ID) {
		return errUpdate(u, answer("Only a site admin may bind a group this way; anyone else needs a bind code: /bind KEY CODE in the group."))
	}
	text, err := b.bind(ctx, u, b.rules.Chats[idx].Key, chatID, fmt.Sprintf("group %d", chatID), &q.From, false)
	if err != nil {
		return errUpdate(u, err)
	}
	if err := answer("Done"); err != nil {
		return errUpdate(u, err)
	}
	if q.Message.Message != nil {
		msg := q.Message.Message
		err := b.c.do(ctx, msg.Chat.ID, callMessage, func(ctx context.Context) error {
			_, err := b.c.tg.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: msg.Chat.ID, MessageID: msg.ID, Text: text})
			return err
		})
		if err := ignoreDone(err); err != nil {
			b.log.WarnContext(ctx, "edit the /setup message", "err", err)
		}
	}
	return nil
}
