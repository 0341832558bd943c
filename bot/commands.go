package bot

import (
	"context"
	"errors"
	"fmt"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
)

// setCommands registers the bot's commands per scope: what anyone may do
// in a private chat and what chat admins may do in their groups. A server
// without setMyCommands (some self-hosted ones) gets a warning, nothing
// more. Site admins get the whole set in their private chat once they talk
// to the bot (adminCommands): Telegram knows no chat with them before.
func (b *Bot) setCommands(ctx context.Context) error {
	people := peopleCommands
	var errs []error
	if err := b.setCommandScope(ctx, &tgmodels.BotCommandScopeAllPrivateChats{}, people); err != nil {
		errs = append(errs, err)
		if ae := apiErrorOf(err); ae != nil && ae.Code == 404 {
			return err // the server does not have the method at all
		}
	}
	// In groups (commands_groups.go): /karma for everyone, answered to
	// the asker alone; the admins' commands for admins.
	for _, s := range groupCommandScopes {
		if err := b.setGroupCommands(ctx, s.scope, s.commands); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var peopleCommands = []tgmodels.BotCommand{
	{Command: "start", Description: "Link your Telegram to the website"},
	{Command: "unlink", Description: "Unlink this Telegram account"},
	{Command: "help", Description: "What this bot does"},
}

var adminCommands = append(append([]tgmodels.BotCommand{}, peopleCommands...),
	tgmodels.BotCommand{Command: "status", Description: "Who is in, who should be, what is pending"},
	tgmodels.BotCommand{Command: "rules", Description: "The rules of your chats"},
	tgmodels.BotCommand{Command: "who", Description: "A member's state and why"},
	tgmodels.BotCommand{Command: "sync", Description: "Reconcile the chats with the rules now"},
	tgmodels.BotCommand{Command: "pending", Description: "Removals held under dry run"},
	tgmodels.BotCommand{Command: "confirm", Description: "Carry out the held removals"},
	tgmodels.BotCommand{Command: "exempt", Description: "Always let a member in"},
	tgmodels.BotCommand{Command: "unexempt", Description: "Lift an exemption"},
	tgmodels.BotCommand{Command: "setup", Description: "Add me to a group and bind it"},
)

func (b *Bot) setCommandScope(ctx context.Context, scope tgmodels.BotCommandScope, commands []tgmodels.BotCommand) error {
	err := b.c.do(ctx, 0, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: commands, Scope: scope})
		return err
	})
	if err != nil {
		return fmt.Errorf("setMyCommands: %w", err)
	}
	return nil
}

// adminCommandsFor shows a site admin the whole command set in their
// private chat, once per process.
func (b *Bot) adminCommandsFor(ctx context.Context, userID int64) {
	if !b.isSiteAdmin(userID) {
		return
	}
	b.mu.Lock()
	done := b.adminCmds[userID]
	if b.adminCmds == nil {
		b.adminCmds = map[int64]bool{}
	}
	b.adminCmds[userID] = true
	b.mu.Unlock()
	if done {
		return
	}
	if err := b.setCommandScope(ctx, &tgmodels.BotCommandScopeChat{ChatID: userID}, adminCommands); err != nil {
		b.log.WarnContext(ctx, "could not show a site admin their commands", "user", userID, "err", err)
	}
}
