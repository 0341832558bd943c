package mtproto_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_Contacts: importing, resolving and deleting contacts, with
// privacy hiding people from phone lookups.
func TestServer_Contacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{FloodWait: map[string]time.Duration{}})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000100"})
	open := e.MustUser(world.UserSpec{FirstName: "Open", Phone: "+15550000101", Username: "open_person"})
	hidden := e.MustUser(world.UserSpec{FirstName: "Hidden", Phone: "+15550000102", Privacy: world.PrivacyNobody})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		t.Run("importContacts", func(t *testing.T) {
			res, err := api.ContactsImportContacts(ctx, []tg.InputPhoneContact{
				{ClientID: 1, Phone: "+1 555 000 0101", FirstName: "Open"},
				{ClientID: 2, Phone: "+15550000102", FirstName: "Hidden"},
				{ClientID: 3, Phone: "+15550009999", FirstName: "Nobody"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(res.Imported); got != fmt.Sprintf("[{%d 1}]", open.ID) {
				t.Errorf("imported = %s", got)
			}
			if len(res.Users) != 1 || res.Users[0].(*tg.User).AccessHash != open.AccessHash || res.Users[0].(*tg.User).Phone != open.Phone {
				t.Errorf("users = %v", res.Users)
			}
			if !e.w.IsContact(owner.ID, open.ID) || e.w.IsContact(owner.ID, hidden.ID) {
				t.Error("world contacts not as imported")
			}
		})
		for _, tc := range []struct {
			name    string
			call    func() (*tg.ContactsResolvedPeer, error)
			wantID  int64
			wantErr string
		}{
			{"resolveUsername", func() (*tg.ContactsResolvedPeer, error) {
				return api.ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: "open_person"})
			}, open.ID, ""},
			{"resolveUsername unknown", func() (*tg.ContactsResolvedPeer, error) {
				return api.ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: "no_such_person"})
			}, 0, "USERNAME_NOT_OCCUPIED"},
			{"resolvePhone", func() (*tg.ContactsResolvedPeer, error) { return api.ContactsResolvePhone(ctx, "15550000101") }, open.ID, ""},
			{"resolvePhone hidden by privacy", func() (*tg.ContactsResolvedPeer, error) { return api.ContactsResolvePhone(ctx, "15550000102") }, 0, "PHONE_NOT_OCCUPIED"},
			{"resolvePhone unknown", func() (*tg.ContactsResolvedPeer, error) { return api.ContactsResolvePhone(ctx, "15550009999") }, 0, "PHONE_NOT_OCCUPIED"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := tc.call()
				if tc.wantErr != "" {
					wantRPC(t, err, 400, tc.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if p, ok := res.Peer.(*tg.PeerUser); !ok || p.UserID != tc.wantID {
					t.Errorf("peer = %v, want user %d", res.Peer, tc.wantID)
				}
			})
		}
		t.Run("deleteContacts", func(t *testing.T) {
			if _, err := api.ContactsDeleteContacts(ctx, []tg.InputUserClass{inputUser(open)}); err != nil {
				t.Fatal(err)
			}
			if e.w.IsContact(owner.ID, open.ID) {
				t.Error("still a contact")
			}
		})
		return nil
	})
}

// TestServer_ContactImportQuota: past an account's daily import quota,
// phones come back in retry_contacts, even one per call, until the oldest
// import leaves the 24-hour window.
func TestServer_ContactImportQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{FloodWait: map[string]time.Duration{}, ContactImportsPerDay: 2})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000110"})
	var people []world.User
	for i := range 3 {
		people = append(people, e.MustUser(world.UserSpec{FirstName: "P", Phone: fmt.Sprintf("+1555000011%d", i+1)}))
	}
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		one := func(u world.User) *tg.ContactsImportedContacts {
			t.Helper()
			res, err := api.ContactsImportContacts(ctx, []tg.InputPhoneContact{{ClientID: u.ID, Phone: u.Phone, FirstName: "P"}})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		for _, u := range people[:2] {
			if res := one(u); len(res.Imported) != 1 || len(res.RetryContacts) != 0 {
				t.Fatalf("within the quota: %+v", res)
			}
		}
		if res := one(people[2]); len(res.Imported) != 0 || fmt.Sprint(res.RetryContacts) != fmt.Sprintf("[%d]", people[2].ID) {
			t.Fatalf("past the quota: imported %v, retry %v; want retry [%d]", res.Imported, res.RetryContacts, people[2].ID)
		}
		e.clock.Advance(25 * time.Hour)
		if res := one(people[2]); len(res.Imported) != 1 {
			t.Fatalf("a day later: %+v", res)
		}
		return nil
	})
}
