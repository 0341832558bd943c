package bot

import (
	"context"
	"errors"
	"fmt"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
)

// setCommands registers the bot's commands per scope: what anyone may do
// in a private chat, what chat admins may do in their groups, and the whole
// set in the private chats of the site admins. A server without
// setMyCommands (some self-hosted ones) gets a warning, nothing more.
func (b *Bot) setCommands(ctx context.Context) error {
	people := []tgmodels.BotCommand{
		{Command: "start", Description: "Link your Telegram to the website"},
		{Command: "unlink", Description: "Unlink this Telegram account"},
		{Command: "help", Description: "What this bot does"},
	}
	admins := append(append([]tgmodels.BotCommand{}, people...),
		tgmodels.BotCommand{Command: "status", Description: "Who is in, who should be, what is pending"},
		tgmodels.BotCommand{Command: "rules", Description: "The rules of your chats"},
		tgmodels.BotCommand{Command: "who", Description: "A member's state and why"},
		tgmodels.BotCommand{Command: "sync", Description: "Re-plan every member now"},
		tgmodels.BotCommand{Command: "pending", Description: "Planned removals"},
		tgmodels.BotCommand{Command: "confirm", Description: "Confirm planned removals"},
		tgmodels.BotCommand{Command: "exempt", Description: "Always let a member in"},
		tgmodels.BotCommand{Command: "unexempt", Description: "Lift an exemption"},
		tgmodels.BotCommand{Command: "setup", Description: "Add me to a group and bind it"},
	)
	groupAdmins := []tgmodels.BotCommand{
		{Command: "bind", Description: "Bind this group to a chat of the rules"},
		{Command: "unbind", Description: "Stop gating this group"},
	}
	set := []struct {
		scope    tgmodels.BotCommandScope
		commands []tgmodels.BotCommand
	}{
		{&tgmodels.BotCommandScopeAllPrivateChats{}, people},
		{&tgmodels.BotCommandScopeAllChatAdministrators{}, groupAdmins},
	}
	for id := range b.admins {
		set = append(set, struct {
			scope    tgmodels.BotCommandScope
			commands []tgmodels.BotCommand
		}{&tgmodels.BotCommandScopeChat{ChatID: id}, admins})
	}
	var errs []error
	for _, s := range set {
		err := b.c.do(ctx, 0, callOther, func(ctx context.Context) error {
			_, err := b.c.tg.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: s.commands, Scope: s.scope})
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("setMyCommands: %w", err))
			if ae := apiErrorOf(err); ae != nil && ae.Code == 404 {
				break // the server does not have the method at all
			}
		}
	}
	return errors.Join(errs...)
}
