package mtproto

import (
	"context"
	"sort"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
)

// Dialogs, titles and the contact list: what a userbot needs to find the
// supergroups it is in (say, one a person created by hand and made it an
// admin of) and to tidy up.

// topMessage is the supergroup's last service message, writing the
// creation message first for supergroups the server has not seen created
// (made before it started).
func (s *Server) topMessage(channelID, creatorID int64, title string, date int) *tg.UpdateNewChannelMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.channels[channelID]; ok && len(b.log) > 0 {
		return cloneService(b.log[len(b.log)-1])
	}
	return s.appendServiceLocked(channelID, creatorID, &tg.MessageActionChannelCreate{Title: title}, date)
}

// messagesGetDialogs lists the caller's supergroups, newest activity
// first. There are no private chats or messages in the sandbox.
func (s *Server) messagesGetDialogs(ctx context.Context, c *call, req *tg.MessagesGetDialogsRequest) (bin.Encoder, error) {
	if req.Limit < 0 {
		return nil, rpcError(400, "LIMIT_INVALID")
	}
	limit := req.Limit
	if limit == 0 || limit > 100 {
		limit = 100
	}
	type entry struct {
		channelID int64
		top       *tg.UpdateNewChannelMessage
		date      int
	}
	var all []entry
	if req.FolderID == 0 {
		for _, ch := range s.w.ChatsOf(c.userID) {
			top := s.topMessage(ch.ID, ch.CreatorID, ch.Title, unix(ch.Date))
			all = append(all, entry{channelID: ch.ID, top: top, date: top.Message.(*tg.MessageService).Date})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].date != all[j].date {
			return all[i].date > all[j].date
		}
		return all[i].channelID > all[j].channelID
	})
	// Offsets, as Telegram reads them: the page starts below the dialog
	// whose top message has offset_date (and offset_id, offset_peer
	// breaking ties between dialogs of one date). Without offset_date it
	// starts at the top whatever offset_peer says, so a client that pages
	// by the peer alone sees its first page again.
	start := 0
	if req.OffsetDate > 0 {
		for start < len(all) && all[start].date > req.OffsetDate {
			start++
		}
		peer, _ := req.OffsetPeer.(*tg.InputPeerChannel)
		for i := start; i < len(all) && all[i].date == req.OffsetDate; i++ {
			id := all[i].top.Message.(*tg.MessageService).ID
			if peer != nil && all[i].channelID == peer.ChannelID || peer == nil && id >= req.OffsetID {
				start = i + 1
			}
		}
	}
	page := all[start:min(len(all), start+limit)]
	dialogs := []tg.DialogClass{}
	messages := []tg.MessageClass{}
	var chats []int64
	var users []int64
	for _, e := range page {
		msg := e.top.Message.(*tg.MessageService)
		dialogs = append(dialogs, &tg.Dialog{
			Peer:            &tg.PeerChannel{ChannelID: e.channelID},
			TopMessage:      msg.ID,
			ReadInboxMaxID:  msg.ID,
			ReadOutboxMaxID: msg.ID,
			NotifySettings:  tg.PeerNotifySettings{},
			Pts:             s.channelPts(e.channelID),
		})
		messages = append(messages, msg)
		chats = append(chats, e.channelID)
		users = append(users, serviceUsers(e.top)...)
	}
	chatList := s.chatsTG(c.userID, chats...)
	if chatList == nil {
		chatList = []tg.ChatClass{}
	}
	userList := s.usersTG(c.userID, append(users, c.userID)...)
	if len(page) == len(all) {
		return &tg.MessagesDialogs{Dialogs: dialogs, Messages: messages, Chats: chatList, Users: userList}, nil
	}
	return &tg.MessagesDialogsSlice{Count: len(all), Dialogs: dialogs, Messages: messages, Chats: chatList, Users: userList}, nil
}

// messagesEditChatAbout sets a supergroup's description (channels take
// it as an InputPeer here, as in Telegram).
func (s *Server) messagesEditChatAbout(ctx context.Context, c *call, req *tg.MessagesEditChatAboutRequest) (bin.Encoder, error) {
	ch, err := s.inputPeerChannel(req.Peer)
	if err != nil {
		return nil, err
	}
	if !s.w.Member(ch.ID, c.userID).Status.IsMember() {
		return nil, errChannelPrivate
	}
	if len([]rune(req.About)) > 255 {
		return nil, rpcError(400, "CHAT_ABOUT_TOO_LONG")
	}
	changed, err := s.w.EditAbout(ch.ID, c.userID, req.About)
	if err != nil {
		return nil, err
	}
	if !changed {
		return nil, rpcError(400, "CHAT_ABOUT_NOT_MODIFIED")
	}
	return &tg.BoolTrue{}, nil
}

func (s *Server) channelsEditTitle(ctx context.Context, c *call, req *tg.ChannelsEditTitleRequest) (bin.Encoder, error) {
	ch, _, err := s.memberChannel(req.Channel, c.userID)
	if err != nil {
		return nil, err
	}
	if ch.Title == req.Title {
		return nil, rpcError(400, "CHAT_NOT_MODIFIED")
	}
	if err := s.w.EditTitle(ch.ID, c.userID, req.Title); err != nil {
		return nil, err
	}
	pts := s.channelPts(ch.ID)
	s.appendService(ch.ID, c.userID, &tg.MessageActionChatEditTitle{Title: req.Title}, unix(s.w.Now()))
	return s.channelUpdates(c.userID, ch.ID, pts), nil
}

// contactsGetContacts lists the caller's contacts.
func (s *Server) contactsGetContacts(ctx context.Context, c *call, req *tg.ContactsGetContactsRequest) (bin.Encoder, error) {
	out := &tg.ContactsContacts{Contacts: []tg.Contact{}, Users: []tg.UserClass{}}
	for _, u := range s.w.Users() {
		if u.ID == c.userID || !s.w.IsContact(c.userID, u.ID) {
			continue
		}
		out.Contacts = append(out.Contacts, tg.Contact{UserID: u.ID, Mutual: s.w.IsContact(u.ID, c.userID)})
		out.Users = append(out.Users, s.userTG(u, c.userID))
	}
	out.SavedCount = len(out.Contacts)
	return out, nil
}
