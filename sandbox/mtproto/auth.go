package mtproto

import (
	"context"
	"errors"
	"fmt"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
)

// Login: auth.sendCode, auth.signIn, account.getPassword,
// auth.checkPassword, auth.logOut.

func (s *Server) authSendCode(ctx context.Context, c *call, req *tg.AuthSendCodeRequest) (bin.Encoder, error) {
	if req.APIID != s.appID || req.APIHash != s.hash || s.accountCopy(c.auth).apiID != s.appID {
		return nil, rpcError(400, "API_ID_INVALID")
	}
	if req.PhoneNumber == "" {
		return nil, rpcError(400, "PHONE_NUMBER_INVALID")
	}
	// An account lives on one data center: its login is sent there.
	if u, ok := s.w.UserByPhone(req.PhoneNumber); ok && u.DC != c.dc {
		return nil, migrate("PHONE_MIGRATE", u.DC)
	}
	if u, ok := s.w.UserByPhone(req.PhoneNumber); ok && u.Banned {
		return nil, rpcError(400, "PHONE_NUMBER_BANNED")
	}
	if res, err := s.sendCodeAnswer(req.PhoneNumber); res != nil || err != nil {
		return res, err
	}
	// auth.sendCode is flood-limited per phone, before any login.
	if u, ok := s.w.UserByPhone(req.PhoneNumber); ok {
		if wait := s.floodWaitFor(c.method, u.ID); wait > 0 {
			return nil, floodWait(wait)
		}
	}
	hash, err := s.w.SendCode(req.PhoneNumber)
	if err != nil {
		return nil, err
	}
	return &tg.AuthSentCode{
		Type:          &tg.AuthSentCodeTypeApp{Length: 5},
		PhoneCodeHash: hash,
	}, nil
}

func (s *Server) authSignIn(ctx context.Context, c *call, req *tg.AuthSignInRequest) (bin.Encoder, error) {
	if req.PhoneCodeHash == "" {
		return nil, rpcError(400, "PHONE_CODE_HASH_EMPTY")
	}
	if req.PhoneCode == "" {
		return nil, rpcError(400, "PHONE_CODE_EMPTY")
	}
	if u, ok := s.w.UserByPhone(req.PhoneNumber); ok && u.DC != c.dc {
		return nil, migrate("USER_MIGRATE", u.DC)
	}
	u, err := s.w.SignIn(req.PhoneNumber, req.PhoneCodeHash, req.PhoneCode)
	if err != nil {
		return nil, err
	}
	if s.w.Password(u.ID) != "" {
		s.account(c.auth, func(a *account) {
			a.userID, a.pending2FA, a.srp = 0, u.ID, nil
		})
		return nil, rpcError(401, "SESSION_PASSWORD_NEEDED")
	}
	s.authorize(c, u.ID)
	return &tg.AuthAuthorization{User: s.userTG(u, u.ID)}, nil
}

func (s *Server) accountGetPassword(ctx context.Context, c *call, req *tg.AccountGetPasswordRequest) (bin.Encoder, error) {
	newAlgo := &tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow{
		Salt1: make([]byte, 8), Salt2: make([]byte, 16), G: srpG, P: append([]byte(nil), srpPrime...),
	}
	secure := make([]byte, 32)
	if _, err := s.random.Read(secure); err != nil {
		return nil, err
	}
	if _, err := s.random.Read(newAlgo.Salt1); err != nil {
		return nil, err
	}
	if _, err := s.random.Read(newAlgo.Salt2); err != nil {
		return nil, err
	}
	out := &tg.AccountPassword{
		NewAlgo:       newAlgo,
		NewSecureAlgo: &tg.SecurePasswordKdfAlgoSHA512{Salt: secure[:8]},
		SecureRandom:  secure,
	}
	password := s.w.Password(c.userID)
	if password == "" {
		return out, nil
	}
	vr, err := s.verifier(c.userID, password)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.srpSeq++
	id := s.srpSeq
	s.mu.Unlock()
	ses, err := newSRPSession(s.random, id, c.userID, vr)
	if err != nil {
		return nil, err
	}
	s.account(c.auth, func(a *account) { a.srp = ses })
	out.HasPassword = true
	out.CurrentAlgo = vr.algo()
	out.SRPB = append([]byte(nil), ses.gb[:]...)
	out.SRPID = id
	return out, nil
}

// verifier returns the SRP verifier of the user's password, derived once
// per password (the KDF is deliberately slow).
func (s *Server) verifier(userID int64, password string) (*srpVerifier, error) {
	s.mu.Lock()
	cv, ok := s.verifiers[userID]
	s.mu.Unlock()
	if ok && cv.password == password {
		return cv.vr, nil
	}
	vr, err := newSRPVerifier(s.random, password)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.verifiers[userID] = &cachedVerifier{password: password, vr: vr}
	s.mu.Unlock()
	return vr, nil
}

func (s *Server) authCheckPassword(ctx context.Context, c *call, req *tg.AuthCheckPasswordRequest) (bin.Encoder, error) {
	in, ok := req.Password.(*tg.InputCheckPasswordSRP)
	if !ok {
		return nil, rpcError(400, "PASSWORD_HASH_INVALID")
	}
	var ses *srpSession
	s.account(c.auth, func(a *account) {
		// An SRP session answers one check, right or wrong, as Telegram's.
		ses, a.srp = a.srp, nil
	})
	if ses == nil || ses.id != in.SRPID || ses.userID != c.userID {
		return nil, rpcError(400, "SRP_ID_INVALID")
	}
	// The password may have changed since account.getPassword.
	if cur, err := s.verifier(c.userID, s.w.Password(c.userID)); err != nil || cur != ses.vr {
		return nil, rpcError(400, "SRP_ID_INVALID")
	}
	if err := ses.check(in.A, in.M1); err != nil {
		if errors.Is(err, errSRPMismatch) {
			return nil, rpcError(400, "PASSWORD_HASH_INVALID")
		}
		return nil, err
	}
	u, ok := s.w.User(c.userID)
	if !ok {
		return nil, rpcError(400, "USER_ID_INVALID")
	}
	s.authorize(c, u.ID)
	return &tg.AuthAuthorization{User: s.userTG(u, u.ID)}, nil
}

func (s *Server) authLogOut(ctx context.Context, c *call, req *tg.AuthLogOutRequest) (bin.Encoder, error) {
	s.account(c.auth, func(a *account) { a.userID, a.pending2FA, a.srp = 0, 0, nil })
	s.mu.Lock()
	for id, byUser := range s.sessions {
		for sid, ses := range byUser {
			if ses.auth == c.auth {
				delete(byUser, sid)
			}
		}
		if len(byUser) == 0 {
			delete(s.sessions, id)
		}
	}
	s.mu.Unlock()
	return &tg.AuthLoggedOut{}, nil
}

// authorize binds the call's auth key to the user.
func (s *Server) authorize(c *call, userID int64) {
	s.account(c.auth, func(a *account) { a.userID, a.pending2FA, a.srp, a.revoked = userID, 0, nil, false })
	c.userID = userID
	s.trackSession(c.dc, userID, c.req.Session)
	s.log.Info("mtproto: user logged in", "user_id", userID)
}

// migrate is 303 <kind>_<dc>: the client must repeat the call on that
// data center (gotd does, with a new auth key there).
func migrate(kind string, dc int) error {
	return rpcError(303, fmt.Sprintf("%s_%d", kind, dc))
}
