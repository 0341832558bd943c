package mtproto

import (
	"fmt"
	"slices"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
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

// restrictedMethods are the methods a spam-reported account
// (world.SetRestricted) is refused with 400 USER_RESTRICTED: reaching
// other people. Telegram documents it for creating groups and adding.
var restrictedMethods = map[string]bool{
	"channels.createChannel": true, "channels.inviteToChannel": true,
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
	for id := range s.sendCode {
		if gone(id) {
			delete(s.sendCode, id)
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
	s.sendCode = map[int64]SendCodeAnswer{}
	s.lastCall = map[string]time.Time{}
}

// SendCodeAnswer is what auth.sendCode answers for a phone instead of
// sending a code, as Telegram does for some numbers.
type SendCodeAnswer string

const (
	// SendCodeNormal sends the code (the default).
	SendCodeNormal SendCodeAnswer = ""
	// SendCodeFlood is 400 PHONE_NUMBER_FLOOD: too many codes were asked
	// for this number.
	SendCodeFlood SendCodeAnswer = "PHONE_NUMBER_FLOOD"
	// SendCodeUnavailable is 406 SEND_CODE_UNAVAILABLE: every way of
	// sending a code to this number was used up.
	SendCodeUnavailable SendCodeAnswer = "SEND_CODE_UNAVAILABLE"
	// SendCodeEmailSetup answers auth.sentCode with
	// auth.sentCodeTypeSetUpEmailRequired: the account must set up a
	// login email before Telegram sends it codes.
	SendCodeEmailSetup SendCodeAnswer = "email_setup"
	// SendCodePayment answers auth.sentCodePaymentRequired: Telegram wants
	// a payment (a Premium subscription) before it sends the code.
	SendCodePayment SendCodeAnswer = "payment"
)

// ParseSendCodeAnswer reads a SendCodeAnswer by name ("" is
// SendCodeNormal).
func ParseSendCodeAnswer(s string) (SendCodeAnswer, error) {
	switch a := SendCodeAnswer(s); a {
	case SendCodeNormal, SendCodeFlood, SendCodeUnavailable, SendCodeEmailSetup, SendCodePayment:
		return a, nil
	}
	return "", fmt.Errorf("send code answer %q: want one of PHONE_NUMBER_FLOOD, SEND_CODE_UNAVAILABLE, email_setup, payment, or empty", s)
}

// SetSendCodeAnswer makes auth.sendCode for the user's phone answer a
// (SendCodeNormal: send the code again).
func (s *Server) SetSendCodeAnswer(userID int64, a SendCodeAnswer) error {
	if _, ok := s.w.User(userID); !ok {
		return world.ErrUserNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == SendCodeNormal {
		delete(s.sendCode, userID)
	} else {
		s.sendCode[userID] = a
	}
	return nil
}

// sendCodeAnswer is what auth.sendCode answers for phone instead of
// sending a code; nil and nil to send it.
func (s *Server) sendCodeAnswer(phone string) (bin.Encoder, error) {
	u, ok := s.w.UserByPhone(phone)
	if !ok {
		return nil, nil
	}
	s.mu.Lock()
	a := s.sendCode[u.ID]
	s.mu.Unlock()
	switch a {
	case SendCodeFlood:
		return nil, rpcError(400, "PHONE_NUMBER_FLOOD")
	case SendCodeUnavailable:
		return nil, rpcError(406, "SEND_CODE_UNAVAILABLE")
	case SendCodeEmailSetup:
		// No code is sent: the hash leads nowhere until an email is set.
		return &tg.AuthSentCode{Type: &tg.AuthSentCodeTypeSetUpEmailRequired{}, PhoneCodeHash: "email-setup-required"}, nil
	case SendCodePayment:
		return &tg.AuthSentCodePaymentRequired{
			StoreProduct: "org.telegram.telegramPremium.threeMonths.code_x1", PhoneCodeHash: "payment-required",
			SupportEmailAddress: "sms@telegram.org", SupportEmailSubject: "+" + u.Phone,
			PremiumDays: 7, Currency: "USD", Amount: 499,
		}, nil
	}
	return nil, nil
}

// keyUse is which MTProto sessions last used an auth key: a key whose
// requests come from one session, then another, then the first again is
// used from two places at once (AUTH_KEY_DUPLICATED). A client that
// reconnects moves to a new session and never back.
type keyUse struct {
	last, prev int64
}

// duplicated records that the auth key made a request in session sid and
// reports whether that makes it used from two places at once. Telegram
// then ends the authorization: every later call on the key answers 406
// AUTH_KEY_DUPLICATED.
func (s *Server) duplicated(auth [8]byte, sid int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[auth]
	if ok && a.duplicated {
		return true
	}
	u := s.keyUse[auth]
	switch {
	case u.last == sid:
		return false
	case u.prev == sid && u.last != 0 && ok && a.userID != 0:
		for id, byUser := range s.sessions {
			for k, ses := range byUser {
				if ses.auth == auth {
					delete(byUser, k)
				}
			}
			if len(byUser) == 0 {
				delete(s.sessions, id)
			}
		}
		a.userID, a.pending2FA, a.srp, a.duplicated = 0, 0, nil, true
		return true
	}
	s.keyUse[auth] = keyUse{last: sid, prev: u.last}
	return false
}
