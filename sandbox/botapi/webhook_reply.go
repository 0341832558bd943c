package botapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/karmagate/karmagate/sandbox/world"
)

// A webhook may answer an update with a method call in its HTTP response
// ({"method": "sendMessage", "chat_id": …}, telegraf's default). Telegram
// runs it as if the bot had called it, and never reports the result. As in
// telegram-bot-api, deleteWebhook, setWebhook, close, logOut and get*
// methods are ignored there.

// webhookReply is a webhook's 2xx answer.
type webhookReply struct {
	contentType string
	body        []byte
}

// runWebhookReply runs the method a webhook's answer names, if any, for
// the bot b; the call goes into the call log like any other.
func (s *Server) runWebhookReply(ctx context.Context, b *botState, reply *webhookReply) {
	if reply == nil || len(bytes.TrimSpace(reply.body)) == 0 {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(reply.body))
	if err != nil {
		return
	}
	// A body that looks like JSON is read as JSON unless it says it is a
	// form, as frameworks label their answers loosely.
	ct := reply.contentType
	looksJSON := strings.HasPrefix(strings.TrimSpace(string(reply.body)), "{")
	if ct == "" || (looksJSON && !strings.Contains(ct, "form")) {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	p, err := readParams(req)
	if err != nil {
		return // not a call: an ordinary answer
	}
	method := strings.ToLower(p.str("method"))
	switch {
	case method == "", method == "deletewebhook", method == "setwebhook", method == "close", method == "logout", strings.HasPrefix(method, "get"):
		return
	}
	delete(p, "method")
	bot, ok := s.w.User(b.id)
	if !ok {
		return
	}
	c := &call{bot: bot, state: b, method: method, p: p}
	if name, ok := canonical[method]; ok {
		c.method = name
	}
	h, ok := s.handlers[method]
	if !ok {
		s.record(c, nil, &world.Error{Code: 404, Description: "Not Found"}, "")
		return
	}
	if err := BotAPISpec().validate(c.method, p); err != nil {
		s.record(c, nil, err, "")
		return
	}
	s.w.ExpireJoinRequestQueries()
	result, err := h(ctx, c)
	if errors.Is(err, context.Canceled) {
		return
	}
	s.record(c, result, err, "")
	s.log.Debug("ran the method a webhook answered with", "bot", bot.Username, "method", c.method, "err", err)
}
