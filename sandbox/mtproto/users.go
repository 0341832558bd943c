package mtproto

import (
	"context"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Users and contacts.

// usersGetUsers answers the users it can resolve and leaves out the rest,
// as Telegram does.
func (s *Server) usersGetUsers(ctx context.Context, c *call, req *tg.UsersGetUsersRequest) (bin.Encoder, error) {
	out := &tg.UserClassVector{}
	for _, in := range req.ID {
		if u, err := s.inputUser(in, c.userID); err == nil {
			out.Elems = append(out.Elems, s.userTG(u, c.userID))
		}
	}
	return out, nil
}

func (s *Server) usersGetFullUser(ctx context.Context, c *call, req *tg.UsersGetFullUserRequest) (bin.Encoder, error) {
	u, err := s.inputUser(req.ID, c.userID)
	if err != nil {
		return nil, err
	}
	common := 0
	for _, ch := range s.w.ChatsOf(u.ID) {
		if s.w.Member(ch.ID, c.userID).Status.IsMember() {
			common++
		}
	}
	return &tg.UsersUserFull{
		FullUser: tg.UserFull{
			ID:               u.ID,
			Settings:         tg.PeerSettings{},
			NotifySettings:   tg.PeerNotifySettings{},
			CommonChatsCount: common,
		},
		Users: []tg.UserClass{s.userTG(u, c.userID)},
	}, nil
}

// contactsImportContacts adds the phones' owners to the caller's contacts,
// leaving out people whose privacy hides them; phones over the per-call
// limit come back in retry_contacts.
func (s *Server) contactsImportContacts(ctx context.Context, c *call, req *tg.ContactsImportContactsRequest) (bin.Encoder, error) {
	phones := make([]string, len(req.Contacts))
	byPhone := map[string][]int64{}
	for i, in := range req.Contacts {
		phones[i] = in.Phone
		if p, ok := world.NormalizePhone(in.Phone); ok {
			byPhone[p] = append(byPhone[p], in.ClientID)
		}
	}
	imported, retry, err := s.w.ImportContacts(c.userID, phones)
	if err != nil {
		return nil, err
	}
	out := &tg.ContactsImportedContacts{Imported: []tg.ImportedContact{}, PopularInvites: []tg.PopularContact{}, RetryContacts: []int64{}}
	for _, u := range imported {
		for _, cid := range byPhone[u.Phone] {
			out.Imported = append(out.Imported, tg.ImportedContact{UserID: u.ID, ClientID: cid})
		}
		out.Users = append(out.Users, s.userTG(u, c.userID))
	}
	again := map[string]bool{}
	for _, raw := range retry {
		again[raw] = true
	}
	for _, in := range req.Contacts {
		if again[in.Phone] {
			out.RetryContacts = append(out.RetryContacts, in.ClientID)
		}
	}
	if out.Users == nil {
		out.Users = []tg.UserClass{}
	}
	return out, nil
}

func (s *Server) contactsDeleteContacts(ctx context.Context, c *call, req *tg.ContactsDeleteContactsRequest) (bin.Encoder, error) {
	var ids []int64
	for _, in := range req.ID {
		u, err := s.inputUser(in, c.userID)
		if err != nil {
			return nil, err
		}
		if err := s.w.DeleteContact(c.userID, u.ID); err != nil {
			return nil, err
		}
		ids = append(ids, u.ID)
	}
	return &tg.Updates{Updates: []tg.UpdateClass{}, Users: s.usersTG(c.userID, ids...), Chats: []tg.ChatClass{}, Date: unix(s.w.Now())}, nil
}

func (s *Server) contactsResolveUsername(ctx context.Context, c *call, req *tg.ContactsResolveUsernameRequest) (bin.Encoder, error) {
	name := req.Username
	if len(name) < 4 || len(name) > 32 {
		return nil, rpcError(400, "USERNAME_INVALID")
	}
	u, ok := s.w.UserByUsername(name)
	if !ok {
		return nil, rpcError(400, "USERNAME_NOT_OCCUPIED")
	}
	return &tg.ContactsResolvedPeer{
		Peer:  &tg.PeerUser{UserID: u.ID},
		Chats: []tg.ChatClass{},
		Users: []tg.UserClass{s.userTG(u, c.userID)},
	}, nil
}

// contactsResolvePhone finds a person by phone unless their privacy hides
// them from the caller ("nobody", and not having the caller as a contact).
func (s *Server) contactsResolvePhone(ctx context.Context, c *call, req *tg.ContactsResolvePhoneRequest) (bin.Encoder, error) {
	if _, ok := world.NormalizePhone(req.Phone); !ok {
		return nil, rpcError(400, "PHONE_NOT_OCCUPIED")
	}
	u, ok := s.w.UserByPhone(req.Phone)
	if !ok || (u.Privacy == world.PrivacyNobody && !s.w.IsContact(u.ID, c.userID)) {
		return nil, rpcError(400, "PHONE_NOT_OCCUPIED")
	}
	return &tg.ContactsResolvedPeer{
		Peer:  &tg.PeerUser{UserID: u.ID},
		Chats: []tg.ChatClass{},
		Users: []tg.UserClass{s.userTG(u, c.userID)},
	}, nil
}
