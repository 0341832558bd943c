package door

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Why initData is refused: Validate's errors wrap one of these.
var (
	ErrMalformed = errors.New("initData is malformed")
	ErrForged    = errors.New("initData was not signed with this bot's token")
	ErrStale     = errors.New("initData is too old: open the app again from Telegram")
)

// MaxInitData bounds the initData accepted, in bytes; Telegram's are well
// under 1 KiB.
const MaxInitData = 4096

// DefaultMaxAge is how old an initData's auth_date may be.
const DefaultMaxAge = time.Hour

// futureSkew is how far ahead of our clock an auth_date may be.
const futureSkew = time.Minute

// User is the Telegram account a Mini App was opened by (WebAppUser).
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot,omitempty"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// InitData is Telegram.WebApp.initData once its signature checked.
type InitData struct {
	User     User
	AuthDate time.Time
	QueryID  string
}

// Validator checks initData with a bot's token, as
// core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
// says: hash is the hex HMAC-SHA256, keyed with HMAC-SHA256(key
// "WebAppData", token), of every other field as sorted "key=value" lines.
type Validator struct {
	secret []byte
	maxAge time.Duration
	now    func() time.Time
}

// NewValidator makes a validator for the bot with token; maxAge 0 means
// DefaultMaxAge, now nil the system clock.
func NewValidator(token string, maxAge time.Duration, now func() time.Time) (*Validator, error) {
	if token == "" {
		return nil, errors.New("initData validator: no bot token")
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if now == nil {
		now = time.Now
	}
	m := hmac.New(sha256.New, []byte("WebAppData"))
	m.Write([]byte(token))
	return &Validator{secret: m.Sum(nil), maxAge: maxAge, now: now}, nil
}

func refuse(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Validate parses raw and checks its hash (in constant time), its
// auth_date (not older than the validator's max age, not in the future)
// and its user. Errors wrap ErrMalformed, ErrForged or ErrStale.
func (v *Validator) Validate(raw string) (InitData, error) {
	if raw == "" {
		return InitData{}, refuse(ErrMalformed, "empty: open this page from Telegram")
	}
	if len(raw) > MaxInitData {
		return InitData{}, refuse(ErrMalformed, "%d bytes, more than %d", len(raw), MaxInitData)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return InitData{}, refuse(ErrMalformed, "not a query string")
	}
	fields := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) != 1 {
			return InitData{}, refuse(ErrMalformed, "field %q given %d times", k, len(vs))
		}
		fields[k] = vs[0]
	}
	got, err := hex.DecodeString(fields["hash"])
	if err != nil || len(got) != sha256.Size {
		return InitData{}, refuse(ErrMalformed, "hash missing or not 64 hex digits")
	}
	if !hmac.Equal(got, v.sum(fields)) {
		return InitData{}, refuse(ErrForged, "hash does not match")
	}
	// Signed: what follows is Telegram's word, checked for sense.
	sec, err := strconv.ParseInt(fields["auth_date"], 10, 64)
	if err != nil || sec <= 0 {
		return InitData{}, refuse(ErrMalformed, "auth_date missing or not a Unix time")
	}
	at, now := time.Unix(sec, 0), v.now()
	switch {
	case now.Sub(at) > v.maxAge:
		return InitData{}, refuse(ErrStale, "signed %s ago, more than %s", now.Sub(at).Round(time.Second), v.maxAge)
	case at.Sub(now) > futureSkew:
		return InitData{}, refuse(ErrMalformed, "auth_date is in the future")
	}
	var u User
	dec := json.NewDecoder(strings.NewReader(fields["user"]))
	if err := dec.Decode(&u); err != nil || u.ID <= 0 || u.IsBot {
		return InitData{}, refuse(ErrMalformed, "user missing or not a person")
	}
	return InitData{User: u, AuthDate: at.UTC(), QueryID: fields["query_id"]}, nil
}

// sum is the HMAC initData's hash must equal.
func (v *Validator) sum(fields map[string]string) []byte {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	m := hmac.New(sha256.New, v.secret)
	for i, k := range keys {
		if i > 0 {
			m.Write([]byte{'\n'})
		}
		m.Write([]byte(k + "=" + fields[k]))
	}
	return m.Sum(nil)
}
