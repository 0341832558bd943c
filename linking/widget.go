package linking

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultWidgetMaxAge is how old a Login Widget payload may be.
const DefaultWidgetMaxAge = 24 * time.Hour

// WidgetSkew is how far in the future auth_date may lie (clocks differ).
const WidgetSkew = time.Minute

// WidgetUser is the Telegram account a Login Widget payload vouches for.
type WidgetUser struct {
	ID        int64
	FirstName string
	LastName  string
	Username  string
	PhotoURL  string
	AuthDate  time.Time
}

// VerifyWidget checks the fields of a Telegram Login Widget payload as the
// website received them (id, first_name, …, auth_date, hash) against the bot
// token, per core.telegram.org/widgets/login: the data-check-string is every
// field but hash, sorted by key, as key=value lines joined by "\n", and hash
// must be its hex HMAC-SHA256 keyed by SHA-256(botToken). Forward the fields
// exactly as received: an added empty field breaks the signature.
//
// Failures: ErrWidgetMalformed (hash, id or auth_date missing or not
// numbers, a key or value that could blur the data-check-string),
// ErrWidgetForged (signature), ErrWidgetStale (auth_date older than maxAge,
// DefaultWidgetMaxAge when zero, or more than WidgetSkew in the future).
// Replays are the Widget type's job.
func VerifyWidget(fields map[string]string, botToken string, now time.Time, maxAge time.Duration) (WidgetUser, error) {
	if botToken == "" {
		return WidgetUser{}, errors.New("verify login widget: no bot token")
	}
	if maxAge <= 0 {
		maxAge = DefaultWidgetMaxAge
	}
	got, err := hex.DecodeString(fields["hash"])
	if err != nil || len(got) != sha256.Size {
		return WidgetUser{}, errorf(CodeWidgetMalformed, "login widget hash is not 64 hex digits")
	}
	id, err := strconv.ParseInt(fields["id"], 10, 64)
	if err != nil || id <= 0 {
		return WidgetUser{}, errorf(CodeWidgetMalformed, "login widget id is missing or not a positive integer")
	}
	authUnix, err := strconv.ParseInt(fields["auth_date"], 10, 64)
	if err != nil || authUnix <= 0 {
		return WidgetUser{}, errorf(CodeWidgetMalformed, "login widget auth_date is missing or not a positive integer")
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if !isWidgetKey(k) || strings.IndexByte(v, '\n') >= 0 {
			return WidgetUser{}, errorf(CodeWidgetMalformed, "login widget field names must be a-z, 0-9, _ and values one line")
		}
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)

	secret := sha256.Sum256([]byte(botToken))
	m := hmac.New(sha256.New, secret[:])
	for i, k := range keys {
		if i > 0 {
			m.Write([]byte{'\n'})
		}
		m.Write([]byte(k))
		m.Write([]byte{'='})
		m.Write([]byte(fields[k]))
	}
	if !hmac.Equal(got, m.Sum(nil)) {
		return WidgetUser{}, ErrWidgetForged
	}

	auth := time.Unix(authUnix, 0)
	if age := now.Sub(auth); age > maxAge || age < -WidgetSkew {
		return WidgetUser{}, errorf(CodeWidgetStale, fmt.Sprintf("login widget auth_date is %s from now, allowed %s back to %s ahead", age.Round(time.Second), maxAge, WidgetSkew))
	}
	return WidgetUser{
		ID:        id,
		FirstName: fields["first_name"],
		LastName:  fields["last_name"],
		Username:  fields["username"],
		PhotoURL:  fields["photo_url"],
		AuthDate:  auth.UTC(),
	}, nil
}

// isWidgetKey accepts the field names Telegram uses: lower-case ASCII,
// digits and '_'. Nothing with '=' or a newline, which would let two
// different payloads share one data-check-string.
func isWidgetKey(k string) bool {
	if k == "" {
		return false
	}
	for i := range len(k) {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// WidgetFieldsFromForm takes the widget's fields from a form; a field given
// twice is malformed rather than guessed at.
func WidgetFieldsFromForm(form url.Values) (map[string]string, error) {
	fields := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, errorf(CodeWidgetMalformed, fmt.Sprintf("login widget field %q given %d times", truncate(k, 32), len(vs)))
		}
		fields[k] = vs[0]
	}
	return fields, nil
}

// WidgetFieldsFromJSON takes the widget's fields from the JSON object its
// JavaScript callback produces: numbers keep their exact digits (a float
// would round a large id and break the signature), null fields are left out.
func WidgetFieldsFromJSON(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, errorf(CodeWidgetMalformed, "login widget data is not a JSON object: "+err.Error())
	}
	if dec.More() {
		return nil, errorf(CodeWidgetMalformed, "login widget data has more than one JSON value")
	}
	fields := make(map[string]string, len(obj))
	for k, v := range obj {
		switch v := v.(type) {
		case nil:
		case string:
			fields[k] = v
		case json.Number:
			fields[k] = v.String()
		default:
			return nil, errorf(CodeWidgetMalformed, fmt.Sprintf("login widget field %q is not a string or number", truncate(k, 32)))
		}
	}
	return fields, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// WidgetReplayStore remembers Login Widget payloads already used. In SQL:
//
//	INSERT INTO widget_logins (hash, until) VALUES (?, ?)
//	  ON CONFLICT (hash) DO NOTHING          -- MySQL: INSERT IGNORE
//
// with fresh = (rows affected == 1), and a sweep of rows whose until has
// passed: by then the payload is stale and refused before it gets here.
type WidgetReplayStore interface {
	// MarkWidgetUsed records hash (64 lower-case hex digits) as used until
	// the given time; fresh is false when it was recorded already.
	MarkWidgetUsed(ctx context.Context, hash string, until time.Time) (fresh bool, err error)
}

// WidgetOptions configures Widget. BotToken and Replay are required.
type WidgetOptions struct {
	BotToken string            // TELEGRAM_BOT_TOKEN
	Replay   WidgetReplayStore // remembers payloads used
	MaxAge   time.Duration     // DefaultWidgetMaxAge when zero
	Now      func() time.Time  // time.Now when nil
}

// Widget verifies Login Widget payloads and refuses each one's second use.
type Widget struct {
	botToken string
	replay   WidgetReplayStore
	maxAge   time.Duration
	now      func() time.Time
}

// NewWidget checks the options.
func NewWidget(opts WidgetOptions) (*Widget, error) {
	if opts.BotToken == "" {
		return nil, errors.New("login widget: no bot token")
	}
	if opts.Replay == nil {
		return nil, errors.New("login widget: no replay store")
	}
	if opts.MaxAge < 0 {
		return nil, fmt.Errorf("login widget: negative max age %s", opts.MaxAge)
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultWidgetMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Widget{botToken: opts.BotToken, replay: opts.Replay, maxAge: opts.MaxAge, now: opts.Now}, nil
}

// Verify checks the payload like VerifyWidget and then records it, so that
// the same payload a second time fails with ErrWidgetReplayed.
func (w *Widget) Verify(ctx context.Context, fields map[string]string) (WidgetUser, error) {
	u, err := VerifyWidget(fields, w.botToken, w.now(), w.maxAge)
	if err != nil {
		return WidgetUser{}, err
	}
	// The hash, lower-cased: "ABC…" and "abc…" are one payload.
	hash := strings.ToLower(fields["hash"])
	fresh, err := w.replay.MarkWidgetUsed(ctx, hash, u.AuthDate.Add(w.maxAge))
	if err != nil {
		return WidgetUser{}, fmt.Errorf("verify login widget: %w", err)
	}
	if !fresh {
		return WidgetUser{}, ErrWidgetReplayed
	}
	return u, nil
}
