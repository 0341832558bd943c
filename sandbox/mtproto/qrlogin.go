package mtproto

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgtest"

	"github.com/karmagate/karmagate/sandbox/world"
)

// QR login (core.telegram.org/api/qr-login): the new client exports a
// token and shows it as tg://login?token=…; a logged-in client accepts it
// (auth.acceptLoginToken, or AcceptLoginURL for a simulated person); the
// new client hears updateLoginToken and exports again to get the
// authorization.

// loginTokenTTL is how long an exported token stays valid, as Telegram's.
const loginTokenTTL = 30 * time.Second

type loginToken struct {
	auth     [8]byte
	dc       int // where it was exported (or, migrated, where to import it)
	session  tgtest.Session
	expires  time.Time
	accepted int64 // user who accepted, 0 if nobody yet
	migrated bool  // handed to the accepting user's DC (loginTokenMigrateTo)
}

func (s *Server) authExportLoginToken(ctx context.Context, c *call, req *tg.AuthExportLoginTokenRequest) (bin.Encoder, error) {
	if req.APIID != s.appID || req.APIHash != s.hash {
		return nil, rpcError(400, "API_ID_INVALID")
	}
	now := s.w.Now()
	s.mu.Lock()
	var accepted int64
	for key, t := range s.loginTokens {
		if t.auth != c.auth || t.migrated {
			continue
		}
		if t.accepted != 0 {
			accepted = t.accepted
		}
		delete(s.loginTokens, key)
	}
	s.mu.Unlock()
	if accepted != 0 {
		for _, id := range req.ExceptIDs {
			if id == accepted {
				return nil, rpcError(400, "AUTH_TOKEN_EXCEPTION")
			}
		}
		u, ok := s.w.User(accepted)
		if !ok {
			return nil, errUserIDInvalid
		}
		if u.DC != c.dc {
			// The account lives on another data center: the client
			// must import this token there (auth.importLoginToken).
			token, err := s.newToken()
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.loginTokens[string(token)] = &loginToken{auth: c.auth, dc: u.DC, expires: now.Add(loginTokenTTL), accepted: u.ID, migrated: true}
			s.mu.Unlock()
			return &tg.AuthLoginTokenMigrateTo{DCID: u.DC, Token: token}, nil
		}
		return s.loginTokenSuccess(c, u)
	}
	token, err := s.newToken()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.loginTokens[string(token)] = &loginToken{auth: c.auth, dc: c.dc, session: c.req.Session, expires: now.Add(loginTokenTTL)}
	s.mu.Unlock()
	return &tg.AuthLoginToken{Expires: unix(now.Add(loginTokenTTL)), Token: token}, nil
}

func (s *Server) newToken() ([]byte, error) {
	token := make([]byte, 32)
	if _, err := s.random.Read(token); err != nil {
		return nil, fmt.Errorf("login token: %w", err)
	}
	return token, nil
}

// loginTokenSuccess authorizes the call's auth key as u, or asks for the
// 2FA password first.
func (s *Server) loginTokenSuccess(c *call, u world.User) (bin.Encoder, error) {
	if s.w.Password(u.ID) != "" {
		s.account(c.auth, func(a *account) { a.userID, a.pending2FA, a.srp = 0, u.ID, nil })
		return nil, rpcError(401, "SESSION_PASSWORD_NEEDED")
	}
	s.authorize(c, u.ID)
	return &tg.AuthLoginTokenSuccess{Authorization: &tg.AuthAuthorization{User: s.userTG(u, u.ID)}}, nil
}

// authImportLoginToken completes a QR login on the data center that
// auth.loginTokenMigrateTo named, with the token it carried.
func (s *Server) authImportLoginToken(ctx context.Context, c *call, req *tg.AuthImportLoginTokenRequest) (bin.Encoder, error) {
	s.mu.Lock()
	t, ok := s.loginTokens[string(req.Token)]
	switch {
	case !ok || !t.migrated || t.dc != c.dc:
		s.mu.Unlock()
		return nil, rpcError(400, "AUTH_TOKEN_INVALID")
	case !s.w.Now().Before(t.expires):
		delete(s.loginTokens, string(req.Token))
		s.mu.Unlock()
		return nil, rpcError(400, "AUTH_TOKEN_EXPIRED")
	}
	delete(s.loginTokens, string(req.Token))
	s.mu.Unlock()
	u, ok := s.w.User(t.accepted)
	if !ok {
		return nil, errUserIDInvalid
	}
	return s.loginTokenSuccess(c, u)
}

func (s *Server) authAcceptLoginToken(ctx context.Context, c *call, req *tg.AuthAcceptLoginTokenRequest) (bin.Encoder, error) {
	if err := s.acceptLoginToken(ctx, c.userID, req.Token); err != nil {
		return nil, err
	}
	now := unix(s.w.Now())
	return &tg.Authorization{
		Hash:          1,
		DeviceModel:   "sandbox",
		Platform:      "sandbox",
		SystemVersion: "sandbox",
		APIID:         s.appID,
		AppName:       "karmagate sandbox",
		AppVersion:    "1",
		DateCreated:   now,
		DateActive:    now,
		IP:            "127.0.0.1",
		Country:       "Sandbox",
	}, nil
}

// AcceptLoginURL is a person scanning a QR code: userID accepts the login
// token in a tg://login?token=… URL (or the bare base64url token), as
// auth.acceptLoginToken from their own phone would. The waiting client
// gets updateLoginToken. Errors are Telegram's: AUTH_TOKEN_INVALID,
// AUTH_TOKEN_EXPIRED, AUTH_TOKEN_ALREADY_ACCEPTED.
func (s *Server) AcceptLoginURL(ctx context.Context, userID int64, loginURL string) error {
	raw := loginURL
	if u, err := url.Parse(loginURL); err == nil && u.Scheme == "tg" {
		raw = u.Query().Get("token")
	}
	token, err := base64.URLEncoding.DecodeString(raw)
	if err != nil {
		if token, err = base64.RawURLEncoding.DecodeString(raw); err != nil {
			return rpcError(400, "AUTH_TOKEN_INVALID")
		}
	}
	if _, ok := s.w.User(userID); !ok {
		return errUserIDInvalid
	}
	return s.acceptLoginToken(ctx, userID, token)
}

func (s *Server) acceptLoginToken(ctx context.Context, userID int64, token []byte) error {
	s.mu.Lock()
	t, ok := s.loginTokens[string(token)]
	switch {
	case !ok || t.migrated:
		s.mu.Unlock()
		return rpcError(400, "AUTH_TOKEN_INVALID")
	case !s.w.Now().Before(t.expires):
		delete(s.loginTokens, string(token))
		s.mu.Unlock()
		return rpcError(400, "AUTH_TOKEN_EXPIRED")
	case t.accepted != 0:
		s.mu.Unlock()
		return rpcError(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
	}
	t.accepted = userID
	ses, dc := t.session, t.dc
	s.mu.Unlock()
	upd := &tg.UpdateShort{Update: &tg.UpdateLoginToken{}, Date: unix(s.w.Now())}
	if err := s.send(ctx, dc, ses, upd); err != nil {
		// The client will still get in by exporting again.
		s.log.Debug("mtproto: push updateLoginToken", "err", err)
	}
	return nil
}
