package userbot

import (
	"context"
	"fmt"

	"github.com/gotd/td/telegram/query/dialogs"
	"github.com/gotd/td/tg"
)

// eachChannel walks an account's dialogs, newest first, with gotd's dialog
// iterator (which pages by offset date, id and peer, as Telegram wants;
// paging by the peer alone starts again at the top) and calls fn with each
// supergroup or channel, until fn says stop.
func eachChannel(ctx context.Context, api *tg.Client, fn func(ch *tg.Channel) (stop bool, err error)) error {
	iter := dialogs.NewQueryBuilder(api).GetDialogs().BatchSize(100).Iter()
	for iter.Next(ctx) {
		e := iter.Value()
		d, ok := e.Dialog.(*tg.Dialog)
		if !ok {
			continue
		}
		pc, ok := d.Peer.(*tg.PeerChannel)
		if !ok {
			continue
		}
		ch, ok := e.Entities.Channels()[pc.ChannelID]
		if !ok {
			continue
		}
		stop, err := fn(ch)
		if err != nil || stop {
			return err
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("list dialogs: %w", err)
	}
	return nil
}
