package bot

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// updateQueue is the stored queue of Telegram updates: each is stored
// before Telegram is answered, claimed under a lease by one instance,
// finished (or put back for a retry) and pruned once old.
type updateQueue interface {
	SaveUpdates(ctx context.Context, ups []models.Update) (int, error)
	ClaimUpdates(ctx context.Context, owner string, limit int, lease time.Duration) ([]models.Update, error)
	FinishUpdate(ctx context.Context, id int64, owner string, cause error, retryAt *time.Time) error
	PruneUpdates(ctx context.Context, cutoff time.Time) (int64, error)
}

// WebhookHandler receives Telegram's webhook deliveries. It checks the
// secret token in constant time (401 without it), reads at most one update
// of MaxUpdateSize (413 beyond), stores the update (a repeat of a stored
// update_id is a no-op) and only then answers 200; the processor handles it
// after. A failure to store answers 503 when the database is unreachable
// (500 otherwise), so Telegram delivers it again.
func (b *Bot) WebhookHandler() http.Handler {
	want := sha256.Sum256([]byte(b.webhookSecret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := sha256.Sum256([]byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token")))
		if b.webhookSecret == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			b.metrics.webhook("unauthorized")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUpdateSize))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				b.metrics.webhook("too_large")
				http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		up, err := storable(raw)
		if err != nil {
			// Telegram would send it again forever; answer 200 and log it.
			b.metrics.webhook("malformed")
			b.log.WarnContext(r.Context(), "webhook: not an update; dropped", "err", err, "bytes", len(raw))
			w.WriteHeader(http.StatusOK)
			return
		}
		if _, err := b.store.SaveUpdates(context.WithoutCancel(r.Context()), []models.Update{up}); err != nil {
			b.metrics.webhook("store_failed")
			status, level := http.StatusInternalServerError, slog.LevelError
			if models.Unreachable(err) {
				// The database is away (/healthz says so): Telegram
				// retries, and so will a load balancer on another instance.
				status, level = http.StatusServiceUnavailable, slog.LevelWarn
			}
			b.log.Log(r.Context(), level, "webhook: could not store the update; Telegram will deliver it again", "update_id", up.UpdateID, "status", status, "err", err)
			http.Error(w, "try again", status)
			return
		}
		b.metrics.webhook("stored")
		if b.opts.AfterStore != nil {
			b.opts.AfterStore()
		}
		w.WriteHeader(http.StatusOK)
		b.Wake()
	})
}

// pollLoop long-polls getUpdates, stores each batch, and only then asks
// for the next, whose offset confirms the batch to Telegram. It runs while
// this instance holds the poller lease (see poll) and returns when ctx
// ends.
//
// The offset is sent only to confirm the batch just stored. The first call
// (after a start, or after another instance polled) and every call after
// an empty answer send none: Telegram then answers from its oldest update
// not yet confirmed. An offset carried over a quiet spell would be wrong
// after a quiet week, when Telegram picks the next update_id at random and
// lower: every update below the offset counts as confirmed, unseen. What
// comes again is stored once (SaveUpdates).
func (b *Bot) pollLoop(ctx context.Context) {
	var offset int64 // 0: none
	tgDown := worker.Outage{What: "poll: getUpdates", Logger: b.log, Now: b.opts.Now}
	for ctx.Err() == nil {
		var raws []json.RawMessage
		params := map[string]any{"limit": 100, "timeout": int(b.opts.PollTimeout / time.Second), "allowed_updates": allowedUpdates}
		if offset > 0 {
			params["offset"] = offset
		}
		err := b.c.call(ctx, "getUpdates", params, &raws)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := tgDown.Fail(ctx, err)
			if ae := apiErrorOf(err); ae != nil && ae.RetryAfter > 0 {
				wait = ae.RetryAfter
			}
			if sleep(ctx, wait) != nil {
				return
			}
			continue
		}
		tgDown.OK(ctx)
		if len(raws) == 0 {
			offset = 0 // the call confirmed what came before
			continue
		}
		ups := make([]models.Update, 0, len(raws))
		var next int64
		for _, raw := range raws {
			up, err := storable(raw)
			if err != nil {
				b.log.WarnContext(ctx, "poll: not an update; skipped", "err", err)
				var id struct {
					UpdateID int64 `json:"update_id"`
				}
				if json.Unmarshal(raw, &id) == nil {
					next = max(next, id.UpdateID+1)
				}
				continue
			}
			ups = append(ups, up)
			next = max(next, up.UpdateID+1)
		}
		if err := b.storeUntilDone(ctx, ups); err != nil {
			return
		}
		if b.opts.AfterStore != nil {
			b.opts.AfterStore()
		}
		offset = next
		b.Wake()
	}
}

// storeUntilDone stores a polled batch, again and again while the
// database is away: the offset must not move past updates not stored.
func (b *Bot) storeUntilDone(ctx context.Context, ups []models.Update) error {
	down := worker.Outage{What: "poll: store updates (the offset waits)", Logger: b.log, Now: b.opts.Now}
	for {
		_, err := b.store.SaveUpdates(ctx, ups)
		if err == nil {
			down.OK(ctx)
			return nil
		}
		if errors.Is(err, lease.ErrLost) {
			// Another instance polls now: it gets these updates again.
			b.log.WarnContext(ctx, "poll: updates refused: the poller lease changed hands", "err", err)
			return err
		}
		if err := sleep(ctx, down.Fail(ctx, err)); err != nil {
			return err
		}
	}
}

// process claims stored updates and handles them, lanes in parallel, each
// lane's updates in order.
func (b *Bot) process(ctx context.Context) {
	const lease = 2 * time.Minute
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	sem := make(chan struct{}, b.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	down := worker.Outage{What: "process: claim updates", Logger: b.log, Now: b.opts.Now}
	for ctx.Err() == nil {
		ups, err := b.store.ClaimUpdates(ctx, b.opts.Owner, b.opts.Workers, lease)
		if err != nil {
			if ctx.Err() == nil {
				_ = sleep(ctx, down.Fail(ctx, err))
			}
			continue
		}
		down.OK(ctx)
		for i := range ups {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(u models.Update) {
				defer wg.Done()
				defer func() { <-sem }()
				b.handleStored(context.WithoutCancel(ctx), &u)
				b.Wake() // the lane's next update may be ready now
			}(ups[i])
		}
		if len(ups) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-b.wake:
		}
	}
}

// handleStored processes one stored update and records the outcome.
func (b *Bot) handleStored(ctx context.Context, su *models.Update) {
	start := time.Now()
	err := b.handleRaw(ctx, []byte(su.Payload), su.Seq)
	b.metrics.update(su.Kind, err, time.Since(start))
	var retryAt *time.Time
	var retry *worker.RetryError
	switch {
	case errors.As(err, &retry):
		// Telegram's wait, exactly; it does not count against the update.
		retryAt = &retry.At
		b.log.InfoContext(ctx, "update waits for Telegram", "update_id", su.UpdateID, "until", retry.At)
	case err != nil:
		// A database that was away is no reason to give up on an update.
		if su.Attempts < 5 || models.Unreachable(err) {
			t := b.opts.Now().Add(time.Duration(su.Attempts*su.Attempts) * 2 * time.Second)
			retryAt = &t
			b.log.WarnContext(ctx, "update failed; will retry", "update_id", su.UpdateID, "kind", su.Kind, "attempt", su.Attempts, "err", err)
		} else {
			b.log.ErrorContext(ctx, "update failed for good", "update_id", su.UpdateID, "kind", su.Kind, "err", err)
		}
	}
	// Again while the database is away, for as long as the lease lasts:
	// an outcome not recorded leaves the update running, and its lane
	// waiting, until the lease runs out.
	until := b.opts.Now().Add(time.Minute)
	if su.LeaseUntil != nil {
		until = *su.LeaseUntil
	}
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ferr := b.store.FinishUpdate(ctx, su.UpdateID, b.opts.Owner, err, retryAt)
		if ferr == nil || errors.Is(ferr, models.ErrLeaseLost) {
			return
		}
		if !b.opts.Now().Add(wait).Before(until) {
			b.log.WarnContext(ctx, "could not record an update's outcome; it runs again after its lease", "update_id", su.UpdateID, "err", ferr)
			return
		}
		if attempt == 1 {
			b.log.WarnContext(ctx, "could not record an update's outcome; retrying", "update_id", su.UpdateID, "err", ferr)
		}
		_ = sleep(ctx, wait)
		wait = min(wait*2, 5*time.Second)
	}
}

// handleRaw decodes and dispatches one update, the seq-th to arrive.
func (b *Bot) handleRaw(ctx context.Context, raw []byte, seq int64) error {
	u, err := decodeUpdate(raw)
	if err != nil {
		return nil // stored, so it was decodable; nothing to retry
	}
	u.Seq = seq
	switch {
	case u.ChatJoinRequest != nil:
		return b.onJoinRequest(ctx, u)
	case u.ChatMember != nil:
		return b.onChatMember(ctx, u)
	case u.MyChatMember != nil:
		return b.onMyChatMember(ctx, u)
	case u.CallbackQuery != nil:
		return b.onCallback(ctx, u)
	case u.Message != nil:
		return b.onMessage(ctx, u)
	}
	return nil
}

// errUpdate wraps a handler failure with the update it came from.
func errUpdate(u *update, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("update %d (%s): %w", u.ID, u.kind(), err)
}
