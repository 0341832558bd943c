package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/karmagate/karmagate/models"
)

// bindCodeUsage is the usage line of karmagate bind-code.
const bindCodeUsage = "usage: karmagate bind-code KEY [--db SPEC] [--rules FILE]"

// runBindCode issues a one-time bind code for the chat KEY and prints the
// command its holder sends in the group (/bind KEY CODE): for a site admin
// to hand to a group's owner. The code works once, within 15 minutes; the
// database keeps only its hash.
func runBindCode(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintf(stderr, "%s\n\nPrints /bind KEY CODE: a one-time code (15 minutes) that lets whoever holds it bind a Telegram group to the chat KEY.\n", bindCodeUsage)
			return nil
		}
		return fmt.Errorf("bind-code: name the chat: %s", bindCodeUsage)
	}
	key := args[0]
	cfg, err := loadConfig("bind-code", args[1:], getenv, stderr, checkSync)
	if err != nil {
		return err
	}
	db, store, err := openStore(ctx, cfg, cfg.Logger(stderr), nil, false)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := store.IssueBindCode(ctx, key, "cli")
	if errors.Is(err, models.ErrNotFound) {
		var keys []string
		for _, ch := range store.Rules().Chats {
			keys = append(keys, ch.Key)
		}
		return fmt.Errorf("bind-code: the rules have no chat %q (they name %s)", key, strings.Join(keys, ", "))
	}
	if err != nil {
		return fmt.Errorf("bind-code: %w", err)
	}
	fmt.Fprintln(stdout, c.Command())
	fmt.Fprintf(stderr, "Send this in the Telegram group, with the bot an admin there. It works once, for %s only, until %s.\n",
		key, c.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}
