package userbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/telegram/auth/qrlogin"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
)

// loginStore keeps an account through its login: created with its sealed
// login state, saved between steps, made ready or deleted, and logins left
// unfinished pruned.
type loginStore interface {
	CreateUserbot(ctx context.Context, phone string, expires time.Time, seal func(id int64) (session, login []byte, err error)) (*models.Userbot, error)
	SaveLogin(ctx context.Context, id int64, state string, session, login []byte) error
	SetReady(ctx context.Context, id int64, acc models.TelegramAccount, session []byte, actor string) error
	DeleteUserbot(ctx context.Context, id int64, actor, why string) error
	PruneLogins(ctx context.Context) (int64, error)
}

// loginTTL is how long a login in progress is kept between its steps.
const loginTTL = 30 * time.Minute

// pendingLogin is what a login in progress keeps between steps (sealed).
type pendingLogin struct {
	PhoneCodeHash string `json:"phone_code_hash,omitempty"`
}

// loginClient is a client for one login step: the deadline middleware only.
func (p *Pool) loginClient(mem *session.StorageMemory) *telegram.Client {
	return p.newClient(mem, nil, deadline(p.opts.CallTimeout))
}

// StartLogin begins logging an account in: Telegram sends a login code to
// the phone. The login in progress (its session and phone_code_hash,
// sealed) is stored only when Telegram accepted the phone.
func (p *Pool) StartLogin(ctx context.Context, phone string) (models.LoginStep, error) {
	phone, err := linking.NormalizePhone(phone)
	if err != nil {
		return models.LoginStep{}, refusal(http.StatusUnprocessableEntity, "phone-invalid", "the phone number must be in international format, e.g. +31612345678", err)
	}
	mem := &session.StorageMemory{}
	c := p.loginClient(mem)
	var hash string
	err = runClient(ctx, c, func(ctx context.Context) error {
		sent, err := c.Auth().SendCode(ctx, phone, auth.SendCodeOptions{})
		if err != nil {
			return err
		}
		if err := sentCodeRefusal(sent); err != nil {
			return err
		}
		hash = sent.(*tg.AuthSentCode).PhoneCodeHash
		return nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return models.LoginStep{}, e
		}
		return models.LoginStep{}, loginError(err)
	}
	row, err := p.opts.Accounts.CreateUserbot(ctx, phone, p.opts.Now().Add(loginTTL), func(id int64) ([]byte, []byte, error) {
		sess, err := p.sealMem(mem, id)
		if err != nil {
			return nil, nil, err
		}
		login, err := json.Marshal(pendingLogin{PhoneCodeHash: hash})
		if err != nil {
			return nil, nil, err
		}
		return sess, p.opts.Vault.Seal(login, loginAD(id)), nil
	})
	if err != nil {
		return models.LoginStep{}, err
	}
	p.log.InfoContext(ctx, "userbot login started: code sent", "userbot", row.ID)
	return models.LoginStep{ID: row.ID, State: models.UserbotCodeSent}, nil
}

// sentCodeRefusal says, in words, what Telegram asks instead of sending
// a code: a login email set up first, or a payment; nil when the code
// was sent.
func sentCodeRefusal(sent tg.AuthSentCodeClass) error {
	switch s := sent.(type) {
	case *tg.AuthSentCode:
		if _, ok := s.Type.(*tg.AuthSentCodeTypeSetUpEmailRequired); ok {
			return &Error{Status: http.StatusConflict, Kind: "email-setup-required", Telegram: "auth.sentCodeTypeSetUpEmailRequired",
				Detail: "Telegram sends this account no login code until it has a login email: open a Telegram app where the account is logged in, set one up (Settings → Privacy and Security → Login Email), then try again; or log in by QR code (karmagate userbot login --qr)"}
		}
		return nil
	case *tg.AuthSentCodePaymentRequired:
		price := ""
		if s.Amount > 0 && s.Currency != "" {
			price = fmt.Sprintf(" (%d.%02d %s)", s.Amount/100, s.Amount%100, s.Currency)
		}
		return &Error{Status: http.StatusPaymentRequired, Kind: "payment-required", Telegram: "auth.sentCodePaymentRequired",
			Detail: "Telegram sends a login code to this number only after a payment" + price + ", which karmagate does not make: log in by QR code (karmagate userbot login --qr) from a phone where the account is logged in, or ask " + s.SupportEmailAddress}
	case *tg.AuthSentCodeSuccess:
		return &Error{Status: http.StatusBadGateway, Kind: "telegram", Detail: "Telegram logged the account in without a code, which karmagate does not expect; try again"}
	}
	return fmt.Errorf("send code: unexpected answer %T", sent)
}

// pending loads a login in progress in the expected state.
func (p *Pool) pending(ctx context.Context, id int64, want string) (*models.Userbot, *session.StorageMemory, error) {
	row, err := p.opts.Accounts.Userbot(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if row.State != want {
		return nil, nil, refusal(http.StatusConflict, "login-state", fmt.Sprintf("userbot %d is %s, not %s", id, row.State, want), nil)
	}
	if row.LoginExpiresAt != nil && p.opts.Now().After(*row.LoginExpiresAt) {
		_ = p.opts.Accounts.DeleteUserbot(ctx, id, "", "")
		return nil, nil, refusal(http.StatusGone, "login-expired", "this login waited too long; start again", nil)
	}
	mem, err := p.memSession(ctx, id, row.Session)
	if err != nil {
		return nil, nil, err
	}
	return row, mem, nil
}

// SubmitCode is the login's second step: the code Telegram sent. The
// account is ready, or needs its 2FA password. A wrong code leaves the
// login waiting for the right one; an expired code or an unknown phone
// ends it.
func (p *Pool) SubmitCode(ctx context.Context, id int64, code string) (models.LoginStep, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return models.LoginStep{}, refusal(http.StatusUnprocessableEntity, "code-invalid", "the code is empty", nil)
	}
	row, mem, err := p.pending(ctx, id, models.UserbotCodeSent)
	if err != nil {
		return models.LoginStep{}, err
	}
	raw, err := p.opts.Vault.Open(row.Login, loginAD(id))
	if err != nil {
		return models.LoginStep{}, fmt.Errorf("userbot %d: %w", id, err)
	}
	var pl pendingLogin
	if err := json.Unmarshal(raw, &pl); err != nil {
		return models.LoginStep{}, fmt.Errorf("userbot %d: read login: %w", id, err)
	}
	c := p.loginClient(mem)
	var user *tg.User
	needPassword := false
	err = runClient(ctx, c, func(ctx context.Context) error {
		a, err := c.Auth().SignIn(ctx, row.Phone, code, pl.PhoneCodeHash)
		if errors.Is(err, auth.ErrPasswordAuthNeeded) {
			needPassword = true
			return nil
		}
		var su *auth.SignUpRequired
		if errors.As(err, &su) {
			return tgerr.New(400, "PHONE_NUMBER_UNOCCUPIED")
		}
		if err != nil {
			return err
		}
		user, _ = a.User.(*tg.User)
		return nil
	})
	if err != nil {
		err = loginError(err)
		var e *Error
		if errors.As(err, &e) && (e.Kind == "code-expired" || e.Kind == "phone-unknown") {
			if derr := p.opts.Accounts.DeleteUserbot(ctx, id, "", ""); derr != nil {
				return models.LoginStep{}, errors.Join(err, derr)
			}
		}
		return models.LoginStep{}, err
	}
	sess, err := p.sealMem(mem, id)
	if err != nil {
		return models.LoginStep{}, err
	}
	if needPassword {
		if err := p.opts.Accounts.SaveLogin(ctx, id, models.UserbotPasswordNeeded, sess, row.Login); err != nil {
			return models.LoginStep{}, err
		}
		return models.LoginStep{ID: id, State: models.UserbotPasswordNeeded}, nil
	}
	return p.loggedIn(ctx, id, user, sess, c)
}

// SubmitPassword is the login's last step for an account with a 2FA
// password. A wrong password leaves the login waiting for the right one.
func (p *Pool) SubmitPassword(ctx context.Context, id int64, password string) (models.LoginStep, error) {
	if password == "" {
		return models.LoginStep{}, refusal(http.StatusUnprocessableEntity, "password-invalid", "the password is empty", nil)
	}
	_, mem, err := p.pending(ctx, id, models.UserbotPasswordNeeded)
	if err != nil {
		return models.LoginStep{}, err
	}
	c := p.loginClient(mem)
	var user *tg.User
	err = runClient(ctx, c, func(ctx context.Context) error {
		a, err := c.Auth().Password(ctx, password)
		if errors.Is(err, auth.ErrPasswordInvalid) {
			return tgerr.New(400, "PASSWORD_HASH_INVALID")
		}
		if err != nil {
			return err
		}
		user, _ = a.User.(*tg.User)
		return nil
	})
	if err != nil {
		return models.LoginStep{}, loginError(err)
	}
	sess, err := p.sealMem(mem, id)
	if err != nil {
		return models.LoginStep{}, err
	}
	return p.loggedIn(ctx, id, user, sess, c)
}

// ready records a completed login. A Telegram account already in the pool
// keeps its session there; the new one is logged out again.
func (p *Pool) loggedIn(ctx context.Context, id int64, u *tg.User, sess []byte, c *telegram.Client) (models.LoginStep, error) {
	if u == nil {
		return models.LoginStep{}, errors.New("login: Telegram returned no user")
	}
	acc := models.TelegramAccount{ID: u.ID, Username: u.Username, Name: strings.TrimSpace(u.FirstName + " " + u.LastName)}
	if u.Phone != "" {
		acc.Phone = "+" + strings.TrimPrefix(u.Phone, "+")
	}
	err := p.opts.Accounts.SetReady(ctx, id, acc, sess, p.opts.Actor)
	if errors.Is(err, models.ErrUserbotExists) {
		_ = runClient(ctx, c, func(ctx context.Context) error { _, err := c.API().AuthLogOut(ctx); return err })
		return models.LoginStep{}, refusal(http.StatusConflict, "userbot-exists", err.Error(), err)
	}
	if err != nil {
		return models.LoginStep{}, err
	}
	p.log.InfoContext(ctx, "userbot logged in", "userbot", id, "telegram_user", u.ID)
	p.Kick()
	return models.LoginStep{ID: id, State: models.UserbotReady}, nil
}

// LoginQR logs an account in by QR code: show is called with the
// tg://login?token=… URL to draw (again when a token expires) until the
// account's owner scans it in Telegram (Settings → Devices → Link Desktop
// Device). The result is ready, or password_needed: then call
// SubmitPassword with the returned id.
func (p *Pool) LoginQR(ctx context.Context, show func(ctx context.Context, url string, expires time.Time) error) (models.LoginStep, error) {
	mem := &session.StorageMemory{}
	d := tg.NewUpdateDispatcher()
	loggedIn := qrlogin.OnLoginToken(d)
	o, _ := p.opts.Telegram.clientOptions()
	o.SessionStorage = mem
	o.UpdateHandler = d
	o.MigrationTimeout = migrationTimeout
	o.Middlewares = []telegram.Middleware{deadline(p.opts.CallTimeout)}
	c := telegram.NewClient(p.opts.Telegram.AppID, p.opts.Telegram.AppHash, o)
	var user *tg.User
	needPassword := false
	err := runClient(ctx, c, func(ctx context.Context) error {
		// An account on another data center answers
		// auth.loginTokenMigrateTo: the client moves there and imports
		// the token (gotd's migrate function).
		qr := qrlogin.NewQR(c.API(), p.opts.Telegram.AppID, p.opts.Telegram.AppHash, qrlogin.Options{Migrate: c.MigrateTo})
		a, err := qr.Auth(ctx, loggedIn, func(ctx context.Context, t qrlogin.Token) error {
			return show(ctx, t.URL(), t.Expires())
		})
		var mig *qrlogin.MigrationNeededError
		if errors.As(err, &mig) {
			a, err = importLoginToken(ctx, c, mig.MigrateTo)
		}
		if tgerr.Is(err, "SESSION_PASSWORD_NEEDED") || errors.Is(err, auth.ErrPasswordAuthNeeded) {
			needPassword = true
			return nil
		}
		if err != nil {
			return err
		}
		user, _ = a.User.(*tg.User)
		return nil
	})
	if err != nil {
		return models.LoginStep{}, loginError(err)
	}
	phone := ""
	if user != nil && user.Phone != "" {
		phone = "+" + strings.TrimPrefix(user.Phone, "+")
	}
	row, err := p.opts.Accounts.CreateUserbot(ctx, phone, p.opts.Now().Add(loginTTL), func(id int64) ([]byte, []byte, error) {
		sess, err := p.sealMem(mem, id)
		return sess, nil, err
	})
	if err != nil {
		return models.LoginStep{}, err
	}
	if needPassword {
		if err := p.opts.Accounts.SaveLogin(ctx, row.ID, models.UserbotPasswordNeeded, row.Session, nil); err != nil {
			return models.LoginStep{}, err
		}
		return models.LoginStep{ID: row.ID, State: models.UserbotPasswordNeeded}, nil
	}
	return p.loggedIn(ctx, row.ID, user, row.Session, c)
}

// importLoginToken completes a QR login that Telegram sent to another
// data center when gotd's QR flow stopped short of it: gotd migrates only
// after the updateLoginToken signal, and when its token refresh sees the
// acceptance first (the signal was missed), it returns
// MigrationNeededError instead.
func importLoginToken(ctx context.Context, c *telegram.Client, to *tg.AuthLoginTokenMigrateTo) (*tg.AuthAuthorization, error) {
	if err := c.MigrateTo(ctx, to.DCID); err != nil {
		return nil, fmt.Errorf("move to DC %d: %w", to.DCID, err)
	}
	res, err := c.API().AuthImportLoginToken(ctx, to.Token)
	if err != nil {
		return nil, err
	}
	ok, _ := res.(*tg.AuthLoginTokenSuccess)
	if ok == nil {
		return nil, fmt.Errorf("import login token: unexpected answer %T", res)
	}
	a, _ := ok.Authorization.(*tg.AuthAuthorization)
	if a == nil {
		return nil, fmt.Errorf("import login token: unexpected authorization %T", ok.Authorization)
	}
	return a, nil
}

// Logout ends an account's session on Telegram (auth.logOut) and deletes
// it here. A session Telegram ended already is deleted all the same; when
// Telegram cannot be reached, nothing is deleted.
func (p *Pool) Logout(ctx context.Context, id int64) error {
	row, err := p.opts.Accounts.Userbot(ctx, id)
	if err != nil {
		return err
	}
	if a := p.account(id); a != nil {
		p.stop(a)
	}
	if len(row.Session) > 0 && row.State != models.UserbotUnauthorized && row.State != models.UserbotDeactivated {
		mem, err := p.memSession(ctx, id, row.Session)
		if err != nil {
			return err
		}
		c := p.loginClient(mem)
		err = runClient(ctx, c, func(ctx context.Context) error {
			_, err := c.API().AuthLogOut(ctx)
			return err
		})
		if err != nil && accountState(err) == "" {
			if isRPC(err) {
				return refusal(http.StatusBadGateway, "telegram", "Telegram refused to log the account out; it is kept", err)
			}
			return refusal(http.StatusBadGateway, "telegram-unreachable", "could not reach Telegram to log the account out; it is kept", err)
		}
	}
	if err := p.opts.Accounts.DeleteUserbot(ctx, id, p.opts.Actor, "logged out and deleted"); err != nil {
		return err
	}
	p.log.InfoContext(ctx, "userbot logged out", "userbot", id)
	return nil
}

// List returns every account with its state, capacity and waits.
func (p *Pool) List(ctx context.Context) ([]models.UserbotStatus, error) {
	return List(ctx, p.opts.Accounts, p.opts.Now)
}

// List returns every account of the store with its state, capacity and
// waits, never a secret: what `karmagate userbot list` prints, with only a
// database.
func List(ctx context.Context, accounts Accounts, now func() time.Time) ([]models.UserbotStatus, error) {
	if now == nil {
		now = time.Now
	}
	rows, err := accounts.ListUserbots(ctx)
	if err != nil {
		return nil, err
	}
	waits, err := accounts.Waits(ctx, 0)
	if err != nil {
		return nil, err
	}
	t := now()
	created, err := accounts.CreatedSince(ctx, t.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	out := make([]models.UserbotStatus, 0, len(rows))
	for _, r := range rows {
		s := models.UserbotStatus{ID: r.ID, Phone: r.Phone, TelegramID: r.TgUserID, Username: r.Username, Name: r.Name, State: r.State,
			Channels: r.Channels, ChannelCap: r.ChannelCap, CreatedToday: created[r.ID], AddsStopped: r.PeerFloodAt != nil,
			FloodWaits: map[string]time.Time{}, LastError: r.LastError, ReadyAt: r.ReadyAt}
		if r.LeaseOwner != nil && r.LeaseUntil != nil && r.LeaseUntil.After(t) {
			s.HeldBy = *r.LeaseOwner
		}
		for _, w := range waits {
			if w.UserbotID == r.ID {
				s.FloodWaits[w.Method] = w.Until
			}
		}
		out = append(out, s)
	}
	return out, nil
}
