package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// webhook is a bot's webhook and its delivery loop.
type webhook struct {
	url            string
	secret         string
	maxConnections int
	ipAddress      string
	lastErrorDate  time.Time
	lastError      string
	cancel         context.CancelFunc
	done           chan struct{}
}

var secretTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// checkWebhookURL applies Telegram's rules (HTTPS; ports 443, 80, 88, 8443),
// relaxed unless StrictWebhookURL for local hosts (loopback, private
// addresses, "localhost" and single-label names such as a compose service),
// which may use plain HTTP on any port.
func (s *Server) checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return badRequest("bad webhook: Failed to resolve host: Name or service not known")
	}
	if isLocalHost(u.Hostname()) && !s.opts.StrictWebhookURL && (u.Scheme == "http" || u.Scheme == "https") {
		return nil
	}
	if u.Scheme != "https" {
		return badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	switch u.Port() {
	case "", "443", "80", "88", "8443":
	default:
		return badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
	}
	return nil
}

func isLocalHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || !strings.Contains(host, ".")
}

func (s *Server) setWebhook(_ context.Context, c *call) (any, error) {
	raw := strings.TrimSpace(c.p.str("url"))
	if raw == "" {
		return s.removeWebhook(c, c.p.bool("drop_pending_updates"))
	}
	if err := s.checkWebhookURL(raw); err != nil {
		return nil, err
	}
	secret := c.p.str("secret_token")
	if len(secret) > 256 {
		return nil, badRequest("secret token is too long")
	}
	if secret != "" && !secretTokenRE.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	maxConn := 40
	if c.p.has("max_connections") {
		maxConn = c.p.int("max_connections")
		if maxConn < 1 || maxConn > 100 {
			return nil, badRequest("bad webhook: max_connections must be between 1 and 100")
		}
	}
	allowed, err := c.p.strings("allowed_updates")
	if err != nil {
		return nil, err
	}
	b := c.state
	b.mu.Lock()
	old := b.webhook
	if c.p.bool("drop_pending_updates") {
		b.queue = nil
	}
	if c.p.has("allowed_updates") {
		b.allowed = allowedList(allowed)
	}
	if old != nil && old.url == raw && old.secret == secret && old.maxConnections == maxConn {
		b.mu.Unlock()
		c.description = "Webhook is already set"
		return true, nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	wh := &webhook{url: raw, secret: secret, maxConnections: maxConn, ipAddress: c.p.str("ip_address"), cancel: cancel, done: make(chan struct{})}
	b.webhook = wh
	if b.pollStop != nil {
		close(b.pollStop)
		b.pollStop = nil
	}
	b.mu.Unlock()
	if old != nil {
		old.cancel()
		<-old.done
	}
	s.wg.Add(1)
	go s.deliver(ctx, b, wh)
	c.description = "Webhook was set"
	return true, nil
}

func (s *Server) deleteWebhook(_ context.Context, c *call) (any, error) {
	return s.removeWebhook(c, c.p.bool("drop_pending_updates"))
}

func (s *Server) removeWebhook(c *call, drop bool) (any, error) {
	b := c.state
	b.mu.Lock()
	old := b.webhook
	b.webhook = nil
	if drop {
		b.queue = nil
	}
	b.mu.Unlock()
	if old == nil {
		c.description = "Webhook is already deleted"
		return true, nil
	}
	old.cancel()
	<-old.done
	c.description = "Webhook was deleted"
	return true, nil
}

func (s *Server) getWebhookInfo(_ context.Context, c *call) (any, error) {
	b := c.state
	now := s.w.Now()
	n := b.pending(now)
	b.mu.Lock()
	defer b.mu.Unlock()
	info := apiWebhookInfo{PendingUpdateCount: n}
	if wh := b.webhook; wh != nil {
		info.URL = wh.url
		info.MaxConnections = wh.maxConnections
		info.IPAddress = wh.ipAddress
		info.LastErrorDate = unix(wh.lastErrorDate)
		info.LastErrorMessage = wh.lastError
		info.AllowedUpdates = b.allowed
	}
	return info, nil
}

// deliver posts the bot's updates to its webhook one at a time, in order,
// retrying a failed one with exponential backoff until it is answered with
// a 2xx, the webhook changes, or the server closes.
func (s *Server) deliver(ctx context.Context, b *botState, wh *webhook) {
	defer s.wg.Done()
	defer close(wh.done)
	backoff := time.Duration(0)
	for {
		b.mu.Lock()
		b.pruneLocked(0, s.w.Now())
		notify := b.notify
		var next *queued
		if len(b.queue) > 0 {
			q := b.queue[0]
			next = &q
		}
		b.mu.Unlock()
		if next == nil {
			select {
			case <-notify:
				continue
			case <-ctx.Done():
				return
			}
		}
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		reply, err := s.post(ctx, wh, next.u)
		s.runWebhookReply(ctx, b, reply)
		if err == nil && s.w.Fault() == world.FaultDuplicate {
			s.log.Debug("webhook update delivered twice (fault)", "bot", b.id, "update_id", next.u.UpdateID)
			s.w.RecordCall(world.Call{API: "bot", Account: b.id, Method: "webhook", Params: next.u.UpdateID, Fault: world.FaultDuplicate})
			reply, err = s.post(ctx, wh, next.u)
			s.runWebhookReply(ctx, b, reply)
		}
		if ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		if err != nil {
			wh.lastErrorDate = s.w.Now()
			wh.lastError = err.Error()
			backoff = min(max(backoff*2, s.opts.WebhookRetryMin), s.opts.WebhookRetryMax)
		} else {
			backoff = 0
			if len(b.queue) > 0 && b.queue[0].u.UpdateID == next.u.UpdateID {
				b.queue = b.queue[1:]
			}
		}
		b.mu.Unlock()
		if err != nil {
			s.log.Debug("webhook delivery failed", "bot", b.id, "update_id", next.u.UpdateID, "err", err, "retry_in", backoff)
		}
	}
}

// post delivers one update; on a 2xx it returns the answer's body, which
// may carry a method call (webhook_reply.go).
func (s *Server) post(ctx context.Context, wh *webhook, u apiUpdate) (*webhookReply, error) {
	body, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encode update: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if wh.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", wh.secret)
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		// The texts are Telegram's last_error_message, capitals included.
		if ctx.Err() == context.DeadlineExceeded {
			return nil, errors.New("Read timeout expired") //lint:ignore ST1005 Telegram's text
		}
		return nil, errors.New("Connection refused") //lint:ignore ST1005 Telegram's text
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("Wrong response from the webhook: %s", resp.Status) //lint:ignore ST1005 Telegram's text
	}
	return &webhookReply{contentType: resp.Header.Get("Content-Type"), body: answer}, nil
}
