package world

import "time"

type loginCode struct {
	code   string
	hash   string
	sentAt time.Time
}

// SendCode is auth.sendCode: it "sends" a 5-digit code to the phone and
// returns the phone_code_hash. The code is readable with LastCode. Any valid
// phone gets a code; SignIn tells whether an account exists.
func (w *World) SendCode(phone string) (string, error) {
	p, ok := NormalizePhone(phone)
	if !ok {
		return "", ErrPhoneNumberInvalid
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	lc := &loginCode{
		code:   w.randString(5, "0123456789"),
		hash:   w.randString(18, "0123456789abcdef"),
		sentAt: w.now(),
	}
	w.codes[p] = lc
	return lc.hash, nil
}

// LastCode is the last login code sent to the phone.
func (w *World) LastCode(phone string) (string, bool) {
	p, ok := NormalizePhone(phone)
	if !ok {
		return "", false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	lc, ok := w.codes[p]
	if !ok {
		return "", false
	}
	return lc.code, true
}

// SignIn is auth.signIn: PHONE_CODE_HASH_EMPTY, PHONE_CODE_EXPIRED (no code
// sent, another hash, or older than Limits.CodeTTL), PHONE_CODE_INVALID (wrong
// code), PHONE_NUMBER_UNOCCUPIED (valid code, no account). A code works once.
// It does not check the 2FA password: the MTProto layer answers
// SESSION_PASSWORD_NEEDED when Password(user.ID) is set.
func (w *World) SignIn(phone, hash, code string) (User, error) {
	p, ok := NormalizePhone(phone)
	if !ok {
		return User{}, ErrPhoneNumberInvalid
	}
	if hash == "" {
		return User{}, ErrPhoneCodeHashEmpty
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	lc, ok := w.codes[p]
	if !ok || lc.hash != hash || w.now().Sub(lc.sentAt) > w.limits.CodeTTL {
		return User{}, ErrPhoneCodeExpired
	}
	if code == "" {
		return User{}, BadRequest("PHONE_CODE_EMPTY", "")
	}
	if code != lc.code {
		return User{}, ErrPhoneCodeInvalid
	}
	id, ok := w.byPhone[p]
	if !ok {
		return User{}, ErrPhoneNumberUnoccupied
	}
	delete(w.codes, p)
	return w.users[id].User, nil
}
