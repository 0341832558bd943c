package bot

import (
	"context"
	"fmt"
)

// groupCommand is a BotCommand with Bot API 10.2's is_ephemeral, which
// go-telegram/bot (9.4) does not send: set through call.
type groupCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
	// IsEphemeral: Telegram's apps send the command as an ephemeral
	// message (only the bot sees it), and the bot answers it so too.
	IsEphemeral bool `json:"is_ephemeral,omitempty"`
}

var karmaCommand = groupCommand{Command: "karma", Description: "Your standing in this group (only you see it)", IsEphemeral: true}

// groupCommandScopes are the commands shown in groups: /karma to every
// member; to admins (whose scope hides the members' one) /karma too,
// /status and /who (answered to them alone), and the group commands.
var groupCommandScopes = []struct {
	scope    string
	commands []groupCommand
}{
	{"all_group_chats", []groupCommand{karmaCommand}},
	{"all_chat_administrators", []groupCommand{
		karmaCommand,
		{Command: "status", Description: "Who is in, who should be, what is pending (only you see it)", IsEphemeral: true},
		{Command: "who", Description: "A member's state and why (only you see it)", IsEphemeral: true},
		{Command: "bind", Description: "Bind this group (site admins, or with a bind code)"},
		{Command: "unbind", Description: "Stop gating this group (site admins, or with a bind code)"},
		{Command: "pending", Description: "Removals held under dry run"},
		{Command: "confirm", Description: "Carry out the held removals"},
		{Command: "welcome", Description: "Post and pin how to link, with a button"},
		{Command: "audit", Description: "on: let a userbot account in to list who is inside"},
	}},
}

// setGroupCommands registers commands for a scope without a chat
// (all_group_chats, all_chat_administrators).
func (b *Bot) setGroupCommands(ctx context.Context, scope string, commands []groupCommand) error {
	err := b.c.do(ctx, 0, callOther, func(ctx context.Context) error {
		return b.c.call(ctx, "setMyCommands", map[string]any{"commands": commands, "scope": map[string]string{"type": scope}}, nil)
	})
	if err != nil {
		return fmt.Errorf("setMyCommands (%s): %w", scope, err)
	}
	return nil
}
