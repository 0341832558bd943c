package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	tgbot "github.com/go-telegram/bot"

	"github.com/karmagate/karmagate/models"
)

// Dry run on the bot's side: a group bound over people who are already in
// it starts in dry run (its removals are held until an admin confirms
// them), and the bot surveys which linked members are inside, since a bot
// cannot list a group's members. /pending and /confirm work in the
// private chat and in the bound group.

// dryRunStore is the breaker of a chat bound over people already inside:
// its dry run, the removals it holds until an admin confirms them, and the
// survey of who is inside.
type dryRunStore interface {
	StartDryRun(ctx context.Context, chat, actor, why string) error
	ChatDryRun(ctx context.Context, chat string) (models.DryRunStatus, error)
	HeldRemovals(ctx context.Context, chat string, limit int) ([]models.Action, int64, error)
	ConfirmRemovals(ctx context.Context, chat, actor string) (int, error)
	QueueSurvey(ctx context.Context, chat string, parent int64, after, reason string) (bool, error)
}

// othersInside counts the people in a Telegram chat besides its admins
// (the bot among them, when it is one).
func (b *Bot) othersInside(ctx context.Context, chatID int64) (int, error) {
	var count int
	err := b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		var err error
		count, err = b.c.tg.GetChatMemberCount(ctx, &tgbot.GetChatMemberCountParams{ChatID: chatID})
		return err
	})
	b.metrics.sent("getChatMemberCount", err)
	if err != nil {
		return 0, fmt.Errorf("count the group's members: %w", err)
	}
	var admins int
	err = b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		// return_bots (Bot API 10.1): bots other than this one are left
		// out by default, and getChatMemberCount counts them.
		var as []json.RawMessage
		err := b.c.call(ctx, "getChatAdministrators", map[string]any{"chat_id": chatID, "return_bots": true}, &as)
		admins = len(as)
		return err
	})
	b.metrics.sent("getChatAdministrators", err)
	if err != nil {
		return 0, fmt.Errorf("list the group's admins: %w", err)
	}
	return max(count-admins, 0), nil
}

// startDryRunIfPeopled starts dry run for a chat about to be bound to a
// Telegram group that has people in it besides its admins (the caller then
// queues the survey of who they are). It returns what to tell the admin ("" when the group was
// empty), and how many people are inside besides the admins (-1 when they
// could not be counted), for the caller to record once the group is bound.
// When the people cannot be counted it starts dry run anyway: holding
// removals by mistake costs a /confirm, removing by mistake costs members.
func (b *Bot) startDryRunIfPeopled(ctx context.Context, key string, chatID int64, actor, lang string) (string, int, error) {
	n, err := b.othersInside(ctx, chatID)
	why := fmt.Sprintf("bound over a group with %d member(s) besides its admins", n)
	if err != nil {
		b.log.WarnContext(ctx, "count the members of a group being bound: starting in dry run to be safe", "chat", key, "err", err)
		why, n = "bound over a group whose members could not be counted", -1
	} else if n == 0 {
		return "", 0, nil
	}
	if err := b.store.StartDryRun(ctx, key, actor, why); err != nil {
		return "", n, err
	}
	b.log.InfoContext(ctx, "chat starts in dry run", "chat", key, "others_inside", n)
	return b.texts.render(msgDryRunStarted, lang, textData{Count: int64(n)}), n, nil
}

// surveyPage is how many members one survey action looks at.
const surveyPage = 500

// surveyParallel is how many getChatMember calls a survey has in flight.
const surveyParallel = 4

// execSurvey looks at one page of members: asks Telegram whether each
// linked one is inside the chat and records those who are (re-planned as
// any membership Telegram reports), then queues the next page.
func (b *Bot) execSurvey(ctx context.Context, a *models.Action) error {
	row, err := b.store.ChatRow(ctx, a.ChatKey)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if row.TgChatID == nil {
		return nil // unbound since
	}
	chatID := *row.TgChatID
	after := ""
	if a.Payload != nil {
		after = *a.Payload
	}
	page, err := b.store.ListMembers(ctx, models.MemberFilter{After: after, Limit: surveyPage})
	if err != nil {
		return err
	}
	var (
		mu    sync.Mutex
		first error
		found int
		wg    sync.WaitGroup
		sem   = make(chan struct{}, surveyParallel)
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	for _, m := range page {
		if m.TgUserID == nil {
			continue
		}
		user := *m.TgUserID
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			mi, err := b.getMember(ctx, chatID, user)
			if err != nil {
				if f := classify(err); f == failUserGone || f == failMissing {
					return
				}
				fail(b.chatFailure(err))
				return
			}
			if !mi.present() || mi.admin() {
				return
			}
			if _, err := b.store.RecordMembership(ctx, chatID, user, true, "bot:survey"); err != nil {
				fail(err)
				return
			}
			mu.Lock()
			found++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	b.log.InfoContext(ctx, "surveyed linked members", "chat", a.ChatKey, "members", len(page), "inside", found)
	if len(page) == surveyPage {
		if _, err := b.store.QueueSurvey(ctx, a.ChatKey, a.ID, page[len(page)-1].ExternalID, "the next page of the survey"); err != nil {
			return err
		}
	}
	if found > 0 || len(page) == surveyPage {
		if b.opts.WakeWorkers != nil {
			b.opts.WakeWorkers()
		}
	}
	return nil
}

// onGroupAdminCommand answers /pending and /confirm sent in a bound group,
// for that group's chat, to its admins and the site's admins.
func (b *Bot) onGroupAdminCommand(ctx context.Context, u *update, cmd string) error {
	m := u.Message
	row, err := b.store.ChatByTelegram(ctx, m.Chat.ID)
	if errors.Is(err, models.ErrNotFound) {
		return b.groupReply(ctx, u, m.Chat.ID, "This group is not bound to any chat of the rules: /bind <chat key> first.")
	}
	if err != nil {
		return err
	}
	ok := b.isSiteAdmin(m.From.ID)
	if !ok {
		if ok, err = b.isChatAdmin(ctx, m.Chat.ID, m.From.ID); err != nil {
			return err
		}
	}
	lang := m.From.LanguageCode
	if !ok {
		return b.groupReply(ctx, u, m.Chat.ID, b.texts.render(msgAdminsOnly, lang, textData{Command: cmd}))
	}
	text, err := b.pendingText(ctx, []models.ChatRow{*row}, cmd == "confirm", fmt.Sprintf("bot:%d", m.From.ID), lang)
	if err != nil {
		return err
	}
	if cmd == "confirm" {
		return b.queuedReply(ctx, u, row.ChatKey, m.Chat.ID, "group_reply", text)
	}
	return b.groupReply(ctx, u, m.Chat.ID, text)
}
