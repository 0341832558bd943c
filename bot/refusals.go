package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/karmagate/karmagate/models"
)

// refusal is one answer of Telegram's that karmagate reads: the part of
// the description after "Bad Request: " or "Forbidden: " (an RPC name such
// as USER_KICKED, or a sentence), what it means and what karmagate does.
// The README's table "Telegram's answers and what karmagate does" is this
// table; TestRefusals drives every row from the sandbox.
type refusal struct {
	Text    string
	F       failure
	Meaning string
	Action  string
}

// refusals are every error text karmagate meets, in the README's order.
var refusals = []refusal{
	{"USER_ALREADY_PARTICIPANT", failAlready, "the person is in the chat already", "counted as done"},
	{"message is not modified", failAlready, "the edit changes nothing", "counted as done"},
	{"HIDE_REQUESTER_MISSING", failMissing, "no join request of that person is waiting (decided already, or withdrawn)", "counted as done"},
	{"USER_NOT_PARTICIPANT", failMissing, "the person is not in the chat", "counted as done"},
	{"PARTICIPANT_ID_INVALID", failMissing, "the person is not in the chat", "counted as done"},
	{"message to delete not found", failMissing, "the message is gone", "counted as done"},
	{"bot was blocked by the user", failBlocked, "the person blocked the bot", "recorded as unreachable (blocked): not messaged again until they write to the bot"},
	{"bot can't initiate conversation with a user", failNotStarted, "the bot has seen the person (in a group, or a join request more than 5 minutes old) but they never started it", "recorded as unreachable (never started the bot): not messaged again until they write to the bot or ask to join again"},
	{"chat not found", failChat, "for a private chat: the bot has never seen the person; for a group: the group is gone or the bot is not in it", "a person: recorded as unreachable (unknown to the bot), not messaged again until they write to it; a group: its work waits 15 minutes for the bot to be added back"},
	{"user is deactivated", failUserGone, "the account was deleted", "recorded as unreachable (gone); work about them ends"},
	{"user not found", failUserGone, "no such account", "recorded as unreachable (gone); work about them ends"},
	{"USER_ID_INVALID", failUserGone, "no such account", "recorded as unreachable (gone); work about them ends"},
	{"bot was kicked from the supergroup chat", failChat, "the bot was removed from the group", "the chat's work waits 15 minutes; the chat shows the bot as out"},
	{"bot is not a member of the supergroup chat", failChat, "the bot is not in the group", "the chat's work waits 15 minutes; the chat shows the bot as out"},
	{"CHANNEL_PRIVATE", failChat, "the group is private and the bot is not in it (removed, or the group deleted)", "the chat's work waits 15 minutes; the chat shows the bot as out"},
	{"CHAT_ADMIN_REQUIRED", failChat, "the bot is not an admin there", "the chat's work waits 15 minutes for an admin to restore its rights"},
	{"not enough rights", failChat, "the bot lacks the admin right the call needs", "the chat's work waits 15 minutes for an admin to restore its rights"},
	{"need administrator rights in the channel chat", failChat, "the bot lacks admin rights", "the chat's work waits 15 minutes for an admin to restore its rights"},
	{"USER_CHANNELS_TOO_MUCH", failPersonLimited, "the person is in too many groups and channels (Telegram's limit is 500) to join another", "the person is told to leave some and ask again; not retried"},
	{"USER_BANNED_IN_CHANNEL", failPersonLimited, "Telegram limits the person's account (spam reports): it cannot join groups", "the person is told to check their account with @SpamBot; not retried"},
	{"user is an administrator of the chat", failIsAdmin, "the person is an admin of the chat", "approving: counted as done (they are in); removing: never done to an admin"},
	{"USER_KICKED", failBannedInChat, "the chat's admins banned the person", "not let in over the admins' ban: logged, not retried"},
	{"USERS_TOO_MUCH", failChatFull, "the group is at Telegram's member limit", "the invite waits 15 minutes (someone may leave) and is tried again"},
	{"group chat was upgraded to a supergroup chat", failMigrated, "the basic group became a supergroup (parameters.migrate_to_chat_id)", "the chat is rebound to the supergroup's id, its state kept, an audit event written; the call is made again there"},
	{"ephemeral messages are not allowed in the chat", failNoEphemeral, "the chat does not allow bots' ephemeral messages (Bot API 10.2; the sandbox's wording, Telegram publishes none)", "the answer goes by DM instead, and the chat gets none for 10 minutes"},
	{"ephemeral messages can't be sent to private chats", failNoEphemeral, "an ephemeral message is for groups only", "the answer goes by DM instead"},
	{"message is too long", failRefused, "a text above 4096 UTF-16 code units", "never met: texts are cut to 4096 before sending"},
	{"TAG_EMOJI_NOT_ALLOWED", failRefused, "a member tag with emoji", "never met: emoji are stripped from tags before sending"},
	{"TAG_INVALID", failRefused, "a member tag over 16 characters", "never met: tags are cut to 16 before sending"},
}

// refusalIndex is the refusals by text, for classify.
func refusalIndex() map[string]failure {
	m := make(map[string]failure, len(refusals))
	for _, r := range refusals {
		m[r.Text] = r.F
	}
	return m
}

// classifyIn is classify for a call about chatID: "chat not found" for a
// private chat (a person's id is positive) means the bot has never seen
// that person, not that a chat is gone.
func classifyIn(chatID int64, err error) failure {
	f := classify(err)
	if f == failChat && chatID > 0 {
		if ae := apiErrorOf(err); ae != nil && ae.Code == http.StatusBadRequest && ae.rpc() == "chat not found" {
			return failNoPrivateChat
		}
	}
	return f
}

// refusedPerson handles an approval Telegram refused for a reason of the
// person's own (failPersonLimited): they are told what Telegram says, in
// words, once per key, and the work ends. It reports whether err was such
// a refusal.
func (b *Bot) refusedPerson(ctx context.Context, err error, key string, userID int64, memberExt *string, lang, chat string) (bool, error) {
	if classify(err) != failPersonLimited {
		return false, nil
	}
	msg := msgTooManyGroups
	if ae := apiErrorOf(err); ae != nil && strings.HasPrefix(ae.rpc(), "USER_BANNED_IN_CHANNEL") {
		msg = msgAccountLimited
	}
	b.log.InfoContext(ctx, "approval refused for a reason of the person's own; telling them", "user", userID, "chat", chat, "err", err)
	return true, b.notify(ctx, models.Notice{IdemKey: key, TgUserID: userID, MemberExt: memberExt, Kind: "join_refused"},
		b.texts.render(msg, lang, textData{Chat: chat}), nil)
}

// approvalRefused handles the refusals of approveChatJoinRequest that
// have a meaning of their own (refusals): the person cannot join more
// groups (told, once), is an admin there (done), or was banned by the
// chat's admins (not let in over the ban). done is false for the others.
func (b *Bot) approvalRefused(ctx context.Context, t *target, err error) (done bool, _ error) {
	switch classify(err) {
	case failPersonLimited:
		m := t.member.Member
		key := fmt.Sprintf("refused/m%d/%s/v%d", m.ID, t.a.ChatKey, t.a.StateVersion)
		_, nerr := b.refusedPerson(ctx, err, key, t.user, &m.ExternalID, t.lang, t.chat.Title)
		return true, nerr
	case failIsAdmin:
		b.log.InfoContext(ctx, "approval: the person is an admin of the chat; nothing to do", "chat", t.a.ChatKey, "user", t.user)
		return true, nil
	case failBannedInChat:
		b.log.WarnContext(ctx, "approval: the chat's admins banned the person; not letting them in over the ban", "chat", t.a.ChatKey, "user", t.user, "err", err)
		return true, nil
	}
	return false, nil
}

// joinApprovalRefused is approvalRefused for a join request decided as it
// arrives: the person is told through the outbox (keyed by the update).
func (b *Bot) joinApprovalRefused(ctx context.Context, u *update, err error) (done bool, _ error) {
	r := u.ChatJoinRequest
	switch classify(err) {
	case failPersonLimited:
		msg := msgTooManyGroups
		if ae := apiErrorOf(err); ae != nil && strings.HasPrefix(ae.rpc(), "USER_BANNED_IN_CHANNEL") {
			msg = msgAccountLimited
		}
		row, rerr := b.store.ChatByTelegram(ctx, r.Chat.ID)
		if rerr != nil {
			return true, rerr
		}
		title := row.ChatKey
		if c, ok := b.rules.Chat(row.ChatKey); ok {
			title = c.Title
		}
		b.log.InfoContext(ctx, "approval refused for a reason of the person's own; telling them", "user", r.From.ID, "chat", row.ChatKey, "err", err)
		if qerr := b.store.QueueNotice(ctx, row.ChatKey, r.UserChatID, "", models.NoticePayload{
			Key: "refused/" + u.key(), Kind: "join_refused", Text: b.texts.render(msg, r.From.LanguageCode, textData{Chat: title}),
		}); qerr != nil {
			return true, qerr
		}
		if b.opts.WakeWorkers != nil {
			b.opts.WakeWorkers()
		}
		return true, nil
	case failIsAdmin:
		return true, nil
	case failBannedInChat:
		b.log.WarnContext(ctx, "approval: the chat's admins banned the person; not letting them in over the ban", "chat", r.Chat.ID, "user", r.From.ID, "err", err)
		return true, nil
	}
	return false, nil
}

// Texts for Telegram's refusals of a person (added to builtinTexts here
// rather than in texts.go, to keep the concepts apart).
const (
	msgTooManyGroups  = "too_many_groups"
	msgAccountLimited = "account_limited"
	msgAnonymousAdmin = "anonymous_admin"
	msgGroupMigrated  = "group_migrated"
)

func init() {
	builtinTexts[msgTooManyGroups] = map[string]string{
		"en": "You qualify for {{.Chat}}, but Telegram would not let you in: you are in too many groups and channels (Telegram's limit is 500). Leave some, then ask to join again.",
		"ru": "Вы проходите в «{{.Chat}}», но Telegram не впустил вас: вы состоите в слишком многих группах и каналах (предел Telegram — 500). Выйдите из части из них и подайте заявку снова.",
	}
	builtinTexts[msgAccountLimited] = map[string]string{
		"en": "You qualify for {{.Chat}}, but Telegram would not let you in: it limits your account (after spam reports) so that it cannot join groups. Check your account with @SpamBot, then ask to join again.",
		"ru": "Вы проходите в «{{.Chat}}», но Telegram не впустил вас: ваш аккаунт ограничен (после жалоб на спам) и не может вступать в группы. Проверьте его у @SpamBot и подайте заявку снова.",
	}
	builtinTexts[msgAnonymousAdmin] = map[string]string{
		"en": "You are posting anonymously, as the group, so I cannot tell which admin you are, and only the group's admins may use /{{.Command}}. Turn off \"Remain anonymous\" in your admin rights and send it again, or message me in a private chat: @{{.Bot}}, {{.Reason}}.",
		"ru": "Вы пишете анонимно, от имени группы, и я не могу понять, кто из администраторов вы, а /{{.Command}} доступна только администраторам. Выключите «Анонимность» в своих правах администратора и отправьте снова, или напишите мне в личный чат: @{{.Bot}}, {{.Reason}}.",
	}
	builtinTexts[msgGroupMigrated] = map[string]string{
		"en": "This group became a supergroup; I moved {{.Chat}} to it and kept everything.",
		"ru": "Группа стала супергруппой; я перенёс «{{.Chat}}» на неё, всё сохранено.",
	}
}
