package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
)

// The rights the bot asks for when an owner adds it with /setup: invite
// (join requests and links), ban (removals), delete messages, manage tags.
var botRights = map[string]bool{
	"is_anonymous": false, "can_manage_chat": true, "can_delete_messages": true, "can_manage_video_chats": false,
	"can_restrict_members": true, "can_promote_members": false, "can_change_info": false, "can_invite_users": true,
	"can_pin_messages": false, "can_manage_topics": false, "can_manage_tags": true,
}

// mayBind reports whether user may bind the Telegram chat: its creator, or
// a site admin.
func (b *Bot) mayBind(ctx context.Context, chatID, userID int64) (bool, error) {
	if b.isSiteAdmin(userID) {
		return true, nil
	}
	mi, err := b.getMember(ctx, chatID, userID)
	if err != nil {
		if f := classify(err); f == failChat || f == failUserGone || f == failRefused {
			return false, nil
		}
		return false, err
	}
	return mi.Status == "creator", nil
}

// onBind binds the group the command is sent in to a chat of the rules.
func (b *Bot) onBind(ctx context.Context, u *update, key string) error {
	m := u.Message
	if key == "" {
		return b.groupReply(ctx, u, m.Chat.ID, "Usage: /bind <chat key>. The rules name: "+strings.Join(b.chatKeys(), ", "))
	}
	ok, err := b.mayBind(ctx, m.Chat.ID, m.From.ID)
	if err != nil {
		return err
	}
	if !ok {
		return b.groupReply(ctx, u, m.Chat.ID, "Only the group's creator or a site admin may bind it.")
	}
	text, err := b.bind(ctx, key, m.Chat.ID, m.From.ID, m.From.LanguageCode)
	if err != nil {
		return err
	}
	return b.groupReply(ctx, u, m.Chat.ID, text)
}

// bind binds Telegram chat chatID to the rules' chat key for user, and
// says what happened in words for the admin. A group that has people in it
// besides its admins starts in dry run (startDryRunIfPeopled).
func (b *Bot) bind(ctx context.Context, key string, chatID, userID int64, lang string) (string, error) {
	c, ok := b.rules.Chat(key)
	if !ok {
		return fmt.Sprintf("There is no chat %q in the rules; they name %s.", key, strings.Join(b.chatKeys(), ", ")), nil
	}
	before, err := b.store.ChatRow(ctx, key)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return "", err
	}
	again := before != nil && before.TgChatID != nil && *before.TgChatID == chatID
	const boundElsewhere = "This group is already bound to another chat of the rules; /unbind it there first."
	if other, err := b.store.ChatByTelegram(ctx, chatID); err == nil && other.ChatKey != key {
		return boundElsewhere, nil
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		return "", err
	}
	actor := fmt.Sprintf("bot:%d", userID)
	// Dry run starts before the binding: no removal can run in between.
	dryRun := ""
	if !again {
		if dryRun, err = b.startDryRunIfPeopled(ctx, key, chatID, actor, lang); err != nil {
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
	b.log.InfoContext(ctx, "chat bound", "chat", key, "telegram_chat", chatID, "by", userID)
	text := fmt.Sprintf("Bound to %s (%s). From now on members who qualify get in through the join link, and requests from anyone else are declined.", c.Title, key)
	if len(problems) > 0 {
		text += " Before I can: " + strings.Join(problems, "; ") + "."
	}
	if dryRun != "" {
		text += "\n\n" + dryRun
	}
	return text, nil
}

// onUnbind releases the group the command is sent in.
func (b *Bot) onUnbind(ctx context.Context, u *update) error {
	m := u.Message
	ok, err := b.mayBind(ctx, m.Chat.ID, m.From.ID)
	if err != nil {
		return err
	}
	if !ok {
		return b.groupReply(ctx, u, m.Chat.ID, "Only the group's creator or a site admin may unbind it.")
	}
	row, err := b.store.ChatByTelegram(ctx, m.Chat.ID)
	if errors.Is(err, models.ErrNotFound) {
		return b.groupReply(ctx, u, m.Chat.ID, "This group is not bound to any chat of the rules.")
	}
	if err != nil {
		return err
	}
	if err := b.store.UnbindChat(ctx, row.ChatKey, fmt.Sprintf("bot:%d", m.From.ID)); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	return b.groupReply(ctx, u, m.Chat.ID, fmt.Sprintf("Unbound from %s: I no longer gate this group.", row.ChatKey))
}

// setupRequestID marks the request_chat button of /setup.
const setupRequestID = 1

// onSetup offers a button that lets the owner pick one of their groups;
// Telegram adds the bot there with the rights it needs and tells the bot
// which group it was (chat_shared).
func (b *Bot) onSetup(ctx context.Context, u *update) error {
	from := u.Message.From
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
	ok, err := b.mayBind(ctx, shared.ChatID, from.ID)
	if err != nil {
		return err
	}
	if !ok {
		return b.reply(ctx, u, from.ID, nil, "Only the group's creator or a site admin may bind it.", &tgmodels.ReplyKeyboardRemove{RemoveKeyboard: true})
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
	ok, err := b.mayBind(ctx, chatID, q.From.ID)
	if err != nil {
		return errUpdate(u, err)
	}
	if !ok {
		return errUpdate(u, answer("Only the group's creator or a site admin may bind it."))
	}
	text, err := b.bind(ctx, b.rules.Chats[idx].Key, chatID, q.From.ID, q.From.LanguageCode)
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
