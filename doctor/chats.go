package doctor

import (
	"context"
	"fmt"
	"strings"
)

// chats checks the bot's rights in every bound chat: admin, invite users,
// ban users and, where the rules set tags, manage tags. A chat the rules
// name but no one bound warns (the userbot creates it, or an admin binds
// it).
func chats(ctx context.Context, opts Options, me Me, botOK bool) []Result {
	list, err := opts.Store.Chats(ctx)
	if err != nil {
		return []Result{{Fail, "chats", "could not read the chats: " + err.Error(), "check the database (see above)"}}
	}
	if len(list) == 0 {
		return []Result{{Warn, "chats", "the rules name no chat", "add chats to the rules file (KARMAGATE_RULES; rules.example.yaml)"}}
	}
	var out []Result
	for _, c := range list {
		name := "chat " + c.Key
		if c.TgChatID == 0 {
			fix := "in the group, as its owner: karmagate bind-code " + c.Key + ", then send the /bind command it prints"
			if opts.Userbots {
				fix = "the userbot creates it when serve runs; or bind an existing group: karmagate bind-code " + c.Key
			}
			out = append(out, Result{Warn, name, "not bound to a Telegram group yet", fix})
			continue
		}
		if !botOK {
			out = append(out, Result{Skip, name, "rights not checked: the bot token check failed", ""})
			continue
		}
		out = append(out, chatRights(ctx, opts.Bot, c, me))
	}
	return out
}

func chatRights(ctx context.Context, bot Bot, c Chat, me Me) Result {
	name := "chat " + c.Key
	where := fmt.Sprintf("%q (%d)", c.Title, c.TgChatID)
	r, err := bot.Rights(ctx, c.TgChatID, me.ID)
	if err != nil {
		return Result{Fail, name, where + ": Telegram did not say what the bot is there: " + err.Error(),
			"add @" + me.Username + " to the group as an administrator, or unbind the chat (/unbind) if the group is gone"}
	}
	switch r.Status {
	case "administrator", "creator":
	case "left", "kicked":
		return Result{Fail, name, where + ": the bot is not in the group (" + r.Status + ")",
			"add @" + me.Username + " to the group again and make it an administrator with Invite users and Ban users"}
	default:
		return Result{Fail, name, where + ": the bot is not an administrator (" + r.Status + ")",
			"in the group: Manage group → Administrators → Add administrator → @" + me.Username + ", with Invite users and Ban users"}
	}
	var missing []string
	if !r.CanInviteUsers && r.Status != "creator" {
		missing = append(missing, "Invite users via link")
	}
	if !r.CanRestrictMembers && r.Status != "creator" {
		missing = append(missing, "Ban users")
	}
	if c.Tags && !r.CanManageTags && r.Status != "creator" {
		missing = append(missing, "Manage tags")
	}
	if len(missing) > 0 {
		return Result{Fail, name, where + ": the bot is an administrator without " + strings.Join(missing, ", "),
			"in the group: Manage group → Administrators → @" + me.Username + " → turn on " + strings.Join(missing, ", ")}
	}
	rights := "invites, bans"
	if c.Tags {
		rights += ", tags"
	}
	return Result{OK, name, where + ": the bot is an administrator (" + rights + ")", ""}
}
