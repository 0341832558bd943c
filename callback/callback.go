package callback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// The headers of a callback.
const (
	HeaderTimestamp = "X-Karmagate-Timestamp" // Unix seconds when this delivery was signed
	HeaderSignature = "X-Karmagate-Signature" // "sha256=" and the HMAC's hex
	HeaderEvent     = "X-Karmagate-Event"     // the event id, as in the body
)

// MinSecret is the shortest callback secret accepted, in bytes.
const MinSecret = 32

// Options configures a Sender. URL and Secret are required; the zero value
// of every other field picks a sensible default.
type Options struct {
	// URL is where callbacks are POSTed (KARMAGATE_CALLBACK_URL).
	URL string
	// Secret signs them (KARMAGATE_CALLBACK_SECRET), at least MinSecret bytes.
	Secret []byte
	// Client sends them; by default one that follows no redirects.
	Client *http.Client
	// Timeout bounds one delivery; 10 seconds by default.
	Timeout time.Duration
	// Window is how long after the event a failing delivery is still
	// tried again; 72 hours by default.
	Window time.Duration
	// MaxWait caps the wait between two tries; 1 hour by default. The wait
	// grows with the event's age: about as long as the event has waited
	// already, from 10 seconds on.
	MaxWait time.Duration
	// UserAgent is sent with each delivery; "karmagate" by default.
	UserAgent string
	Now       func() time.Time
	Logger    *slog.Logger
	// Registerer, when set, receives the sender's metrics.
	Registerer prometheus.Registerer
}

// Sender delivers callback actions; it is the worker.Executor of
// models.ActionCallback.
type Sender struct {
	opts     Options
	url      string
	outcomes *prometheus.CounterVec
}

// New returns a Sender for opts.
func New(opts Options) (*Sender, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("callback URL %q is not an http(s) URL", opts.URL)
	}
	if len(opts.Secret) < MinSecret {
		return nil, fmt.Errorf("callback secret is %d bytes; use at least %d", len(opts.Secret), MinSecret)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Window <= 0 {
		opts.Window = 72 * time.Hour
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = time.Hour
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "karmagate"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{opts: opts, url: opts.URL}
	if opts.Registerer != nil {
		s.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "karmagate_callbacks_total",
			Help: "Callback deliveries to the website, by event type and outcome (delivered, retry, failed).",
		}, []string{"type", "outcome"})
		if err := opts.Registerer.Register(s.outcomes); err != nil {
			return nil, fmt.Errorf("register callback metrics: %w", err)
		}
	}
	return s, nil
}

// Executors returns the sender as the executor of callback actions, to
// merge into the worker pool's.
func (s *Sender) Executors() map[string]worker.Executor {
	return map[string]worker.Executor{models.ActionCallback: s}
}

// Body is the JSON a callback action is delivered as: its payload with
// seq set to the action's id. It is the same on every try.
func Body(a *models.Action) ([]byte, *models.Callback, error) {
	if a.Payload == nil {
		return nil, nil, errors.New("the callback action has no payload")
	}
	var cb models.Callback
	if err := json.Unmarshal([]byte(*a.Payload), &cb); err != nil {
		return nil, nil, fmt.Errorf("decode callback payload: %w", err)
	}
	cb.Seq = a.ID
	body, err := json.Marshal(cb)
	if err != nil {
		return nil, nil, fmt.Errorf("encode callback: %w", err)
	}
	return body, &cb, nil
}

// Execute delivers one callback. A refused or failed delivery asks for
// another try (worker.RetryAt) after a wait that grows with the event's
// age, and fails for good once the event is older than Window.
func (s *Sender) Execute(ctx context.Context, a *models.Action) error {
	body, cb, err := Body(a)
	if err != nil {
		s.count("", "failed")
		return worker.Permanent(err)
	}
	log := s.opts.Logger.With("event", cb.ID, "type", cb.Type, "member", cb.Member)
	retryAfter, err := s.post(ctx, cb.ID, body)
	if err == nil {
		s.count(cb.Type, "delivered")
		log.DebugContext(ctx, "callback delivered")
		return nil
	}
	now := s.opts.Now()
	age := now.Sub(a.CreatedAt)
	if age >= s.opts.Window {
		s.count(cb.Type, "failed")
		log.ErrorContext(ctx, "callback: the website did not take the event in time; giving up", "age", age.Round(time.Second), "err", err)
		return worker.Permanent(fmt.Errorf("the website did not take the callback within %s: %w", s.opts.Window, err))
	}
	wait := retryAfter
	if wait <= 0 {
		wait = s.backoff(age)
	}
	s.count(cb.Type, "retry")
	log.WarnContext(ctx, "callback: the website did not take the event; will try again", "in", wait.Round(time.Second), "err", err)
	return worker.RetryAt(now.Add(wait), err)
}

// backoff is the wait before the next try of an event of this age: about
// its age (so the waits double), between 10 seconds and MaxWait, with
// jitter so that a website coming back is not hit by every event at once.
func (s *Sender) backoff(age time.Duration) time.Duration {
	d := min(max(age, 10*time.Second), s.opts.MaxWait)
	return time.Duration(float64(d) * (0.5 + rand.Float64()/2))
}

// post sends one signed delivery. On a 429 or 503 that says when to come
// back (Retry-After), it returns that wait with the error.
func (s *Sender) post(ctx context.Context, event string, body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	ts := s.opts.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.opts.Secret, ts, body))
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	err = fmt.Errorf("the website answered %s", resp.Status)
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		err = fmt.Errorf("%w, redirecting to %s: set KARMAGATE_CALLBACK_URL to the final URL", err, loc)
	} else if text := strings.TrimSpace(string(snippet)); text != "" && utf8.ValidString(text) {
		err = fmt.Errorf("%w: %s", err, models.Truncate(text, 200))
	}
	var wait time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		wait = retryAfter(resp.Header.Get("Retry-After"), s.opts.Now())
		wait = min(wait, s.opts.MaxWait)
	}
	return wait, err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (s *Sender) count(typ, outcome string) {
	if s.outcomes != nil {
		s.outcomes.WithLabelValues(typ, outcome).Inc()
	}
}

// Sign returns the X-Karmagate-Signature of body sent at Unix time ts:
// "sha256=" and the hex of HMAC-SHA256 under secret over the decimal
// timestamp, a dot, and the body.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors Verify returns.
var (
	ErrBadSignature = errors.New("callback signature does not match")
	ErrStale        = errors.New("callback timestamp is too far from now")
)

// Verify checks a callback as the website receives it: the signature
// header over the timestamp header and the raw body, and that the
// timestamp is within tolerance of now (5 minutes is a good tolerance), so
// that a delivery captured once cannot be replayed later.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrBadSignature, timestamp)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s ago", ErrStale, d.Round(time.Second))
	}
	return nil
}
