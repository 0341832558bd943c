package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// Audits of a group bound by hand (/audit on): the bot makes a one-use
// invite link, an account of the userbot pool joins with it
// (models.ActionAuditJoin, the userbot package), and the bot makes that
// account an admin whose only right is to see the members
// (can_manage_chat), so that audits list everyone inside, strangers
// included.

// auditStore queues and records the audits of groups bound by hand.
type auditStore interface {
	QueueAuditJoin(ctx context.Context, chat, link, actor string) (bool, error)
	SetAuditOn(ctx context.Context, chat string, tgUserID int64, actor string) error
}

const (
	msgAuditStarted  = "audit_started"
	msgAuditUsage    = "audit_usage"
	msgAuditNoRights = "audit_no_rights"
)

func init() {
	builtinTexts[msgAuditStarted] = map[string]string{
		"en": "Audits on: an account of karmagate's userbot pool joins with a one-use link; I make it an admin that can only see the members, and it lists everyone inside. /status says what it found.",
		"ru": "Аудит включён: аккаунт из пула karmagate вступит по одноразовой ссылке; я сделаю его администратором, который только видит участников, и он перечислит всех в группе. /status покажет итог.",
	}
	builtinTexts[msgAuditUsage] = map[string]string{
		"en": "Send /audit on to let an account of karmagate's userbot pool in to list who is inside.",
		"ru": "Отправьте /audit on, чтобы впустить аккаунт из пула karmagate, который перечислит, кто в группе.",
	}
	builtinTexts[msgAuditNoRights] = map[string]string{
		"en": "The audit account joined, but I could not make it an admin: give me the right to add new admins, then send /audit on again.",
		"ru": "Аккаунт для аудита вступил, но я не смог сделать его администратором: дайте мне право назначать администраторов и отправьте /audit on снова.",
	}
}

// auditLinkTTL is how long the one-use link of /audit on works.
const auditLinkTTL = time.Hour

// onAudit answers /audit on in a bound group, for its admins and the
// site's: a one-use link for the userbot pool's account, queued for it.
func (b *Bot) onAudit(ctx context.Context, u *update, args string) error {
	m := u.Message
	row, ok, err := b.groupAdminRow(ctx, u, "audit")
	if !ok || err != nil {
		return err
	}
	lang := m.From.LanguageCode
	if strings.TrimSpace(strings.ToLower(args)) != "on" {
		return b.groupReply(ctx, u, m.Chat.ID, b.texts.render(msgAuditUsage, lang, textData{}))
	}
	if err := b.startAudit(ctx, row.ChatKey, m.Chat.ID, fmt.Sprintf("bot:%d", m.From.ID)); err != nil {
		return err
	}
	return b.queuedReply(ctx, u, row.ChatKey, m.Chat.ID, "group_reply", b.texts.render(msgAuditStarted, lang, textData{}))
}

// StartAudit does what /audit on does in the group, for the dashboard
// (dashboard.Auditor): a one-use link for an account of the userbot pool,
// queued for it; actor is who asked, for the audit trail. A flood wait
// is waited out within ctx.
func (b *Bot) StartAudit(ctx context.Context, chatKey, actor string) error {
	row, err := b.store.ChatRow(ctx, chatKey)
	if err != nil {
		return err
	}
	if row.TgChatID == nil {
		return ErrNotBound
	}
	// The group's invite links are paced (about 20 a minute): wait for
	// its turn, as long as the asker does, rather than refuse.
	for {
		err := b.startAudit(ctx, chatKey, *row.TgChatID, actor)
		var re *worker.RetryError
		if !errors.As(err, &re) {
			return err
		}
		t := time.NewTimer(max(time.Until(re.At), 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("audit of %s: %w (Telegram's pace: try again after %s)", chatKey, ctx.Err(), re.At.UTC().Format(time.TimeOnly))
		case <-t.C:
		}
	}
}

// startAudit makes the group's one-use link for the pool's account and
// queues the account's join (models.ActionAuditJoin).
func (b *Bot) startAudit(ctx context.Context, chatKey string, chatID int64, actor string) error {
	var link string
	err := b.c.do(ctx, chatID, callLink, func(ctx context.Context) error {
		l, err := b.c.tg.CreateChatInviteLink(ctx, &tgbot.CreateChatInviteLinkParams{ChatID: chatID, Name: "karmagate audit",
			ExpireDate: int(b.opts.Now().Add(auditLinkTTL).Unix()), MemberLimit: 1})
		if err == nil {
			link = l.InviteLink
		}
		return err
	})
	b.metrics.sent("createChatInviteLink", err)
	if err != nil {
		return fmt.Errorf("make the audit account's link: %w", b.chatFailure(err))
	}
	if _, err := b.store.QueueAuditJoin(ctx, chatKey, link, actor); err != nil {
		return err
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}

// execAuditPromote makes the userbot pool's account that joined a group
// for /audit on an admin that can see the members and nothing else, then
// turns the chat's audits on (its first audit queued).
func (b *Bot) execAuditPromote(ctx context.Context, a *models.Action) error {
	if a.TgUserID == nil {
		return worker.Permanent(errors.New("audit_promote names no account"))
	}
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
	err = b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.PromoteChatMember(ctx, &tgbot.PromoteChatMemberParams{ChatID: chatID, UserID: *a.TgUserID, CanManageChat: true})
		return err
	})
	b.metrics.sent("promoteChatMember", err)
	if err != nil {
		if f := classify(err); f == failRefused || f == failChat {
			if qerr := b.store.QueueNotice(ctx, a.ChatKey, chatID, "", models.NoticePayload{
				Key: fmt.Sprintf("audit_rights/a%d", a.ID), Kind: "group_reply", Text: b.texts.render(msgAuditNoRights, "", textData{}),
			}); qerr != nil {
				return qerr
			}
		}
		return b.chatFailure(err)
	}
	if err := b.store.SetAuditOn(ctx, a.ChatKey, *a.TgUserID, "bot"); err != nil {
		return err
	}
	b.log.InfoContext(ctx, "audit account promoted: audits on", "chat", a.ChatKey, "account", *a.TgUserID)
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}
