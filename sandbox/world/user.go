package world

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Privacy is who may add a person to groups (Telegram's "Groups & Channels"
// privacy setting).
type Privacy string

const (
	PrivacyEverybody Privacy = "everybody"
	PrivacyContacts  Privacy = "contacts"
	PrivacyNobody    Privacy = "nobody"
)

// ParsePrivacy reads "everybody", "contacts" or "nobody"; "" is everybody.
func ParsePrivacy(s string) (Privacy, error) {
	switch p := Privacy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return PrivacyEverybody, nil
	case PrivacyEverybody, PrivacyContacts, PrivacyNobody:
		return p, nil
	default:
		return "", fmt.Errorf("privacy %q: want everybody, contacts or nobody", s)
	}
}

// User is a person or a bot, as a copy.
type User struct {
	ID         int64
	AccessHash int64
	FirstName  string
	LastName   string
	Username   string
	// Phone is digits only, without "+"; empty for bots.
	Phone string
	// Privacy is who may add this person to groups.
	Privacy Privacy
	IsBot   bool
	// Password is the 2FA password, "" for none.
	Password     string
	LanguageCode string
	CreatedAt    time.Time
	// DC is the data center the account lives on (1–5; DefaultDC when
	// the spec named none): a login that starts on another DC is sent
	// there (PHONE_MIGRATE_X, USER_MIGRATE_X, loginTokenMigrateTo).
	DC int
	// Restricted: the account was reported for spam, and Telegram limits
	// what it may do (USER_RESTRICTED). See SetRestricted.
	Restricted bool
	// Banned: Telegram banned the account: its sessions answer 401
	// USER_DEACTIVATED_BAN and its phone PHONE_NUMBER_BANNED. See
	// SetBanned.
	Banned bool
	// GroupsBlocked: a bot whose owner turned groups off in BotFather
	// (Allow Groups? off): adding it to a group is BOT_GROUPS_BLOCKED.
	GroupsBlocked bool
}

// DefaultDC is the data center accounts live on unless their spec names
// another; clients start there too (gotd's and Telegram's apps' default).
const DefaultDC = 2

// MaxDC is the highest data center id: Telegram has five.
const MaxDC = 5

// UserSpec describes a person to create.
type UserSpec struct {
	FirstName    string
	LastName     string
	Username     string
	Phone        string
	Privacy      Privacy
	Password     string
	LanguageCode string
	// DC is the account's data center, 1 to MaxDC; 0 means DefaultDC.
	DC int
}

type user struct {
	User
	token    string
	contacts map[int64]bool // people this user has in their contacts
}

var usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{4,31}$`)

// NormalizePhone strips "+", spaces, dashes and brackets and checks that what
// is left is 7–15 digits (E.164).
func NormalizePhone(phone string) (string, bool) {
	var b strings.Builder
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	s := b.String()
	if len(s) < 7 || len(s) > 15 || s[0] == '0' {
		return "", false
	}
	return s, true
}

// CreateUser creates a person. Username (5–32 of [A-Za-z0-9_], starting with
// a letter) and phone are optional but unique.
func (w *World) CreateUser(spec UserSpec) (User, error) {
	if strings.TrimSpace(spec.FirstName) == "" || len(spec.FirstName) > 64 {
		return User{}, ErrFirstNameInvalid
	}
	if spec.Privacy == "" {
		spec.Privacy = PrivacyEverybody
	}
	if _, err := ParsePrivacy(string(spec.Privacy)); err != nil {
		return User{}, errf(ErrUsernameInvalid, "%v", err)
	}
	phone := ""
	if spec.Phone != "" {
		p, ok := NormalizePhone(spec.Phone)
		if !ok {
			return User{}, ErrPhoneNumberInvalid
		}
		phone = p
	}
	if spec.Username != "" && !usernameRE.MatchString(spec.Username) {
		return User{}, ErrUsernameInvalid
	}
	if spec.DC == 0 {
		spec.DC = DefaultDC
	}
	if spec.DC < 1 || spec.DC > MaxDC {
		return User{}, errf(ErrDCInvalid, "dc %d: Telegram's data centers are 1 to %d", spec.DC, MaxDC)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if phone != "" {
		if _, taken := w.byPhone[phone]; taken {
			return User{}, ErrPhoneNumberOccupied
		}
	}
	if spec.Username != "" {
		if _, taken := w.byName[strings.ToLower(spec.Username)]; taken {
			return User{}, ErrUsernameOccupied
		}
	}
	u := &user{User: User{
		ID:           w.nextUser,
		AccessHash:   w.randHash(),
		FirstName:    spec.FirstName,
		LastName:     spec.LastName,
		Username:     spec.Username,
		Phone:        phone,
		Privacy:      spec.Privacy,
		Password:     spec.Password,
		LanguageCode: spec.LanguageCode,
		CreatedAt:    w.now(),
		DC:           spec.DC,
	}, contacts: map[int64]bool{}}
	w.nextUser++
	w.users[u.ID] = u
	if phone != "" {
		w.byPhone[phone] = u.ID
	}
	if u.Username != "" {
		w.byName[strings.ToLower(u.Username)] = u.ID
	}
	return u.User, nil
}

// CreateBot creates a bot and its token, "<id>:<35 characters>" like
// Telegram's. Bot usernames must end in "bot".
func (w *World) CreateBot(username, firstName string) (User, string, error) {
	if !usernameRE.MatchString(username) || !strings.HasSuffix(strings.ToLower(username), "bot") {
		return User{}, "", ErrUsernameInvalid
	}
	if firstName == "" {
		firstName = username
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, taken := w.byName[strings.ToLower(username)]; taken {
		return User{}, "", ErrUsernameOccupied
	}
	// Bot ids are large on Telegram; keep them apart from people's.
	id := 7000000000 + w.nextBot
	w.nextBot++
	token := fmt.Sprintf("%d:AA%s", id, w.randString(33, urlsafe))
	u := &user{User: User{
		ID:         id,
		AccessHash: w.randHash(),
		FirstName:  firstName,
		Username:   username,
		Privacy:    PrivacyEverybody,
		IsBot:      true,
		CreatedAt:  w.now(),
	}, token: token, contacts: map[int64]bool{}}
	w.users[id] = u
	w.byName[strings.ToLower(username)] = id
	w.byToken[token] = id
	return u.User, token, nil
}

// User returns the user or bot with id.
func (w *World) User(id int64) (User, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[id]
	if !ok {
		return User{}, false
	}
	return u.User, true
}

// Users lists everyone, bots included, by id.
func (w *World) Users() []User {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]User, 0, len(w.users))
	for _, u := range w.users {
		out = append(out, u.User)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// UserByPhone finds a person by phone in any common notation.
func (w *World) UserByPhone(phone string) (User, bool) {
	p, ok := NormalizePhone(phone)
	if !ok {
		return User{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	id, ok := w.byPhone[p]
	if !ok {
		return User{}, false
	}
	return w.users[id].User, true
}

// UserByUsername finds a user or bot by username, with or without "@",
// ignoring case.
func (w *World) UserByUsername(username string) (User, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id, ok := w.byName[strings.ToLower(strings.TrimPrefix(username, "@"))]
	if !ok {
		return User{}, false
	}
	return w.users[id].User, true
}

// BotByToken finds the bot a token belongs to.
func (w *World) BotByToken(token string) (User, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id, ok := w.byToken[token]
	if !ok {
		return User{}, false
	}
	return w.users[id].User, true
}

// Password is the user's 2FA password, "" when none is set.
func (w *World) Password(userID int64) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if u, ok := w.users[userID]; ok {
		return u.Password
	}
	return ""
}

// SetPassword sets (or with "" removes) a user's 2FA password.
func (w *World) SetPassword(userID int64, password string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok {
		return ErrUserNotFound
	}
	u.Password = password
	return nil
}

// SetPrivacy changes who may add the user to groups.
func (w *World) SetPrivacy(userID int64, p Privacy) error {
	if _, err := ParsePrivacy(string(p)); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok {
		return ErrUserNotFound
	}
	u.Privacy = p
	return nil
}

// SetRestricted marks the account reported for spam (or lifts it): its
// MTProto calls that reach other people (creating groups, adding,
// promoting, importing contacts) answer 400 USER_RESTRICTED, as
// Telegram's do for a limited account.
func (w *World) SetRestricted(userID int64, restricted bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok {
		return ErrUserNotFound
	}
	u.Restricted = restricted
	return nil
}

// SetBanned bans the account from Telegram (or lifts the ban): every call
// of its sessions answers 401 USER_DEACTIVATED_BAN, and auth.sendCode for
// its phone 400 PHONE_NUMBER_BANNED.
func (w *World) SetBanned(userID int64, banned bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok {
		return ErrUserNotFound
	}
	u.Banned = banned
	return nil
}

// SetAllowGroups is BotFather's "Allow Groups?" for a bot: with groups
// off, adding or promoting it into a group it is not in answers
// BOT_GROUPS_BLOCKED, and getMe says can_join_groups false.
func (w *World) SetAllowGroups(botID int64, allowed bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[botID]
	if !ok || !u.IsBot {
		return ErrUserNotFound
	}
	u.GroupsBlocked = !allowed
	return nil
}

// AddContact makes the two users mutual contacts.
func (w *World) AddContact(ownerID, contactID int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok1 := w.users[ownerID]
	b, ok2 := w.users[contactID]
	if !ok1 || !ok2 {
		return ErrUserNotFound
	}
	a.contacts[contactID] = true
	b.contacts[ownerID] = true
	return nil
}

// DeleteContact removes contactID from ownerID's contacts (one way, as
// contacts.deleteContacts does).
func (w *World) DeleteContact(ownerID, contactID int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.users[ownerID]
	if !ok {
		return ErrUserNotFound
	}
	delete(a.contacts, contactID)
	return nil
}

// IsContact reports whether ownerID has contactID in their contacts.
func (w *World) IsContact(ownerID, contactID int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.users[ownerID]
	return ok && a.contacts[contactID]
}

// ImportContacts is contacts.importContacts: for each phone that belongs to
// a person, ownerID adds them to their contacts (one way) and gets the user
// back, unless that person's privacy is "nobody" (the sandbox's stand-in for
// "phone number: nobody can find me"), in which case they are left out
// silently as Telegram does. Malformed phones are skipped. Phones beyond
// 100 per call, or beyond the account's Limits.ContactImportsPerDay, are
// returned in retry, as Telegram does when a limit hits: for a call of one
// phone too.
func (w *World) ImportContacts(ownerID int64, phones []string) (imported []User, retry []string, err error) {
	const perCall = 100
	w.mu.Lock()
	defer w.mu.Unlock()
	owner, ok := w.users[ownerID]
	if !ok {
		return nil, nil, ErrUserNotFound
	}
	left := w.importsLeftLocked(ownerID)
	for i, raw := range phones {
		if i >= perCall || left == 0 {
			retry = append(retry, phones[i:]...)
			break
		}
		left--
		w.ext.imported[ownerID] = append(w.ext.imported[ownerID], w.now())
		p, ok := NormalizePhone(raw)
		if !ok {
			continue
		}
		id, ok := w.byPhone[p]
		if !ok || id == ownerID {
			continue
		}
		u := w.users[id]
		if u.Privacy == PrivacyNobody && !u.contacts[ownerID] {
			continue
		}
		owner.contacts[id] = true
		imported = append(imported, u.User)
	}
	return imported, retry, nil
}
