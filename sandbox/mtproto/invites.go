package mtproto

import (
	"context"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
)

// messagesImportChatInvite joins a supergroup through an invite link's
// hash, as Telegram does: the channel comes back in the updates; a link
// that asks for approval sends a join request (INVITE_REQUEST_SENT); a
// link that is unknown, revoked, expired or used up, a ban, a full group
// or an account in too many channels is refused with Telegram's error.
func (s *Server) messagesImportChatInvite(ctx context.Context, c *call, req *tg.MessagesImportChatInviteRequest) (bin.Encoder, error) {
	if req.Hash == "" {
		return nil, rpcError(400, "INVITE_HASH_EMPTY")
	}
	res, err := s.w.JoinByLink(c.userID, "https://t.me/+"+req.Hash)
	if err != nil {
		return nil, err
	}
	switch res.Result {
	case "joined":
		return &tg.MessagesChatInviteJoinResultOk{Updates: s.channelUpdates(c.userID, res.ChannelID, s.channelPts(res.ChannelID))}, nil
	case "requested":
		return nil, rpcError(400, "INVITE_REQUEST_SENT")
	}
	if res.Reason == "INVITE_HASH_EXPIRED" {
		return nil, rpcError(406, res.Reason) // as Telegram answers it
	}
	return nil, rpcError(400, res.Reason)
}
