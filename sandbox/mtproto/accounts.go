package mtproto

import (
	"slices"
	"time"
)

// Account troubles a userbot pool must survive: sessions revoked from
// another device, frozen accounts, and accounts deleted from the world.

// RevokeSessions logs the user out everywhere, as terminating their
// sessions from another device does: every later call on those auth keys
// that needs an account answers 401 SESSION_REVOKED until they log in
// again. It returns how many authorizations were revoked.
func (s *Server) RevokeSessions(userID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.accounts {
		if a.userID == userID || a.pending2FA == userID {
			a.userID, a.pending2FA, a.srp, a.revoked = 0, 0, nil, true
			n++
		}
	}
	delete(s.sessions, userID)
	return n
}

// Freeze marks the user's account frozen (or thaws it): as on Telegram,
// methods other than reading config, state, and oneself answer
// 420 FROZEN_METHOD_INVALID.
func (s *Server) Freeze(userID int64, frozen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if frozen {
		s.frozen[userID] = true
	} else {
		delete(s.frozen, userID)
	}
}

func (s *Server) isFrozen(userID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frozen[userID]
}

// allowedFrozen are the methods a frozen account may still call.
var allowedFrozen = map[string]bool{
	"help.getConfig": true, "help.getNearestDc": true, "help.getAppConfig": true,
	"updates.getState": true, "updates.getDifference": true, "updates.getChannelDifference": true,
	"users.getUsers": true, "users.getFullUser": true,
	"auth.logOut": true, "account.getPassword": true,
}

// forgetUsers logs out, everywhere, the users for which gone is true, and
// drops what the server keeps for them: their auth keys answer 401
// AUTH_KEY_UNREGISTERED until someone logs in on them again, as when an
// account is deleted.
func (s *Server) forgetUsers(gone func(userID int64) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		if (a.userID != 0 && gone(a.userID)) || (a.pending2FA != 0 && gone(a.pending2FA)) {
			a.userID, a.pending2FA, a.srp, a.revoked = 0, 0, nil, false
		}
	}
	for id := range s.frozen {
		if gone(id) {
			delete(s.frozen, id)
		}
	}
	for id := range s.sessions {
		if gone(id) {
			delete(s.sessions, id)
		}
	}
	for id := range s.verifiers {
		if gone(id) {
			delete(s.verifiers, id)
		}
	}
}

// onReset follows a world reset: everyone but the kept users is logged
// out, and the supergroups' message boxes, QR login tokens and flood-wait
// counts are dropped with the supergroups and accounts they belonged to.
func (s *Server) onReset(keep []int64) {
	s.forgetUsers(func(id int64) bool { return !slices.Contains(keep, id) })
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels = map[int64]*channelBox{}
	s.loginTokens = map[string]*loginToken{}
	s.lastCall = map[string]time.Time{}
}
