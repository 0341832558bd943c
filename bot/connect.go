package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrTokenRefused is the Bot API's definite "this token is not a bot"
// (401 Unauthorized, 404 Not Found on getMe): the one failure to reach
// Telegram that retrying cannot mend.
var ErrTokenRefused = errors.New("the Bot API refused the bot token")

// ErrNotConnected is returned by what needs the bot's identity (a deep
// link names the bot) while Telegram has not answered getMe yet.
var ErrNotConnected = notConnected{}

type notConnected struct{}

func (notConnected) Error() string {
	return "Telegram's Bot API has not been reached yet (karmagate keeps trying); try again in a minute"
}

// ServiceUnavailable marks the error as a passing one: the REST API answers
// it with 503 and Retry-After.
func (notConnected) ServiceUnavailable() bool { return true }

// connectBackoff is the longest wait between two getMe attempts while the
// Bot API cannot be reached.
const connectBackoff = 30 * time.Second

// Connected reports whether Telegram answered getMe: until it does, the bot
// processes no update and calls nothing else.
func (b *Bot) Connected() bool { return b.ready.Load() }

// Degraded says why the bot cannot work yet ("" once connected): the Bot
// API unreachable, retried in the background. /healthz reports it.
func (b *Bot) Degraded() string {
	if b.ready.Load() {
		return ""
	}
	if why := b.offline.Load(); why != nil {
		return *why
	}
	return "Telegram's Bot API not reached yet"
}

// Connect asks Telegram who the bot is (getMe) until it answers, waiting
// longer after each failure (1 s, 2 s, 4 s, … up to 30 s). It returns nil
// once connected (at once when it already is), an error wrapping
// ErrTokenRefused when the token is refused, or the context's error.
func (b *Bot) Connect(ctx context.Context) error {
	wait := time.Second
	for !b.ready.Load() {
		err := b.connectOnce(ctx)
		if err == nil || errors.Is(err, ErrTokenRefused) {
			return err
		}
		b.log.WarnContext(ctx, "Telegram's Bot API unreachable; serving the REST API and retrying", "retry_in", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, connectBackoff)
	}
	return nil
}

// connectOnce asks getMe once.
func (b *Bot) connectOnce(ctx context.Context) error {
	u, err := b.c.tg.GetMe(ctx)
	if err == nil {
		b.me = *u
		b.ready.Store(true)
		b.offline.Store(nil)
		return nil
	}
	if ae := apiErrorOf(err); ae != nil && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound) {
		return fmt.Errorf("%w at %s (%s): check TELEGRAM_BOT_TOKEN", ErrTokenRefused, b.opts.ServerURL, ae.Description)
	}
	err = fmt.Errorf("reach the Bot API at %s: %w", b.opts.ServerURL, redactToken(err, b.opts.Token))
	why := "Telegram's Bot API unreachable since " + b.opts.Now().UTC().Format(time.RFC3339) + "; retrying"
	if old := b.offline.Load(); old != nil {
		why = *old
	}
	b.offline.Store(&why)
	return err
}
