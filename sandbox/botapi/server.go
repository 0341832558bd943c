package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// Options configure the emulator. The zero value works.
type Options struct {
	// Logger receives request and delivery logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient delivers webhook requests; nil means a client with
	// WebhookTimeout.
	HTTPClient *http.Client
	// WebhookTimeout bounds one webhook delivery (10 s).
	WebhookTimeout time.Duration
	// WebhookRetryMin and WebhookRetryMax bound the backoff between failed
	// deliveries (1 s doubling to 60 s).
	WebhookRetryMin, WebhookRetryMax time.Duration
	// StrictWebhookURL refuses what Telegram refuses: anything but HTTPS on
	// ports 443, 80, 88 or 8443. By default the sandbox also accepts plain
	// HTTP on any port for loopback hosts, so tests and the demo can use
	// httptest servers.
	StrictWebhookURL bool
	// MaxPollTimeout caps getUpdates' timeout (50 s, as Telegram).
	MaxPollTimeout time.Duration
	// MaxPendingUpdates caps each bot's queue of undelivered updates, oldest
	// dropped first (10000). Updates also expire after 24 hours on the
	// world's clock, as on Telegram; the cap bounds the queue when that
	// clock stands still or nobody fetches the bot's updates.
	MaxPendingUpdates int
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = 10 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.WebhookTimeout}
	}
	if o.WebhookRetryMin == 0 {
		o.WebhookRetryMin = time.Second
	}
	if o.WebhookRetryMax == 0 {
		o.WebhookRetryMax = time.Minute
	}
	if o.MaxPollTimeout == 0 {
		o.MaxPollTimeout = 50 * time.Second
	}
	if o.MaxPendingUpdates <= 0 {
		o.MaxPendingUpdates = 10000
	}
}

// Server is the Bot API emulator: an http.Handler for /bot<token>/<method>.
type Server struct {
	w    *world.World
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	unsub  func()
	wg     sync.WaitGroup

	handlers map[string]handlerFunc

	mu   sync.Mutex
	bots map[int64]*botState
}

// New serves the world's bots. Close stops webhook deliveries.
func New(w *world.World, opts Options) *Server {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{w: w, opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel, bots: map[int64]*botState{}}
	s.handlers = s.methods()
	s.unsub = w.Subscribe(s.onEvent)
	return s
}

// Close stops webhook deliveries and releases waiting requests.
func (s *Server) Close() error {
	s.unsub()
	s.cancel()
	s.wg.Wait()
	return nil
}

type handlerFunc func(ctx context.Context, c *call) (any, error)

// call is one request in flight.
type call struct {
	bot    world.User
	state  *botState
	method string
	p      params
	// description is an optional "description" on success (setWebhook).
	description string
}

// methods maps lower-case method names (Telegram ignores case) to handlers.
func (s *Server) methods() map[string]handlerFunc {
	return map[string]handlerFunc{
		"getme":                  s.getMe,
		"logout":                 s.trueResult,
		"close":                  s.trueResult,
		"getupdates":             s.getUpdates,
		"setwebhook":             s.setWebhook,
		"deletewebhook":          s.deleteWebhook,
		"getwebhookinfo":         s.getWebhookInfo,
		"sendmessage":            s.sendMessage,
		"sendcontact":            s.sendContact,
		"deletemessage":          s.deleteMessage,
		"setmycommands":          s.setMyCommands,
		"getmycommands":          s.getMyCommands,
		"deletemycommands":       s.deleteMyCommands,
		"getchat":                s.getChat,
		"getchatmember":          s.getChatMember,
		"getchatmembercount":     s.getChatMemberCount,
		"getchatadministrators":  s.getChatAdministrators,
		"createchatinvitelink":   s.createChatInviteLink,
		"editchatinvitelink":     s.editChatInviteLink,
		"revokechatinvitelink":   s.revokeChatInviteLink,
		"exportchatinvitelink":   s.exportChatInviteLink,
		"approvechatjoinrequest": s.approveChatJoinRequest,
		"declinechatjoinrequest": s.declineChatJoinRequest,
		"banchatmember":          s.banChatMember,
		"unbanchatmember":        s.unbanChatMember,
		"promotechatmember":      s.promoteChatMember,
		"leavechat":              s.leaveChat,
		// Grown with the bot (interactive.go, commands.go).
		"answercallbackquery":        s.answerCallbackQuery,
		"editmessagetext":            s.editMessageText,
		"editmessagereplymarkup":     s.editMessageReplyMarkup,
		"setchatmembertag":           s.setChatMemberTag,
		"answerchatjoinrequestquery": s.answerChatJoinRequestQuery,
		"sendchatjoinrequestwebapp":  s.sendChatJoinRequestWebApp,
		"pinchatmessage":             s.pinChatMessage,
	}
}

// canonical maps lower-case names back to the specification's spelling.
var canonical = func() map[string]string {
	m := map[string]string{}
	for name := range BotAPISpec().Methods {
		m[strings.ToLower(name)] = name
	}
	return m
}()

// ServeHTTP answers /bot<token>/<method>.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	if !ok {
		writeError(rw, &world.Error{Code: 404, Description: "Not Found"})
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	method = strings.TrimPrefix(method, "test/")
	if !ok || token == "" {
		writeError(rw, &world.Error{Code: 404, Description: "Not Found"})
		return
	}
	bot, ok := s.w.BotByToken(token)
	if !ok {
		writeError(rw, &world.Error{Code: 401, Description: "Unauthorized"})
		return
	}
	h, ok := s.handlers[strings.ToLower(method)]
	if !ok {
		writeError(rw, &world.Error{Code: 404, Description: "Not Found"})
		return
	}
	if name, ok := canonical[strings.ToLower(method)]; ok {
		method = name
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeError(rw, &world.Error{Code: 405, Description: "Method Not Allowed"})
		return
	}
	p, err := readParams(r)
	if err != nil {
		s.finish(rw, &call{bot: bot, method: method}, nil, err, "")
		return
	}
	c := &call{bot: bot, state: s.bot(bot.ID), method: method, p: p}

	fault := s.w.Fault()
	switch fault {
	case world.FaultServerError:
		s.finish(rw, c, nil, &world.Error{Code: 500, Description: "Internal Server Error", RPC: "INTERNAL"}, fault)
		return
	case world.FaultTooMany:
		s.finish(rw, c, nil, world.TooManyRequests(time.Second), fault)
		return
	case world.FaultDrop:
		s.record(c, nil, errors.New("connection dropped"), fault)
		panic(http.ErrAbortHandler)
	case world.FaultDuplicate:
		fault = "" // only webhook deliveries duplicate
	}

	if err := BotAPISpec().validate(method, p); err != nil {
		s.finish(rw, c, nil, err, "")
		return
	}
	if e := s.w.TakeRefusal(method, p.int64("user_id"), p.int64("chat_id")); e != nil {
		s.finish(rw, c, nil, e, "")
		return
	}
	// Join-request queries past their deadline on the world's clock end
	// before any call sees the world.
	s.w.ExpireJoinRequestQueries()
	result, err := h(r.Context(), c)
	if fault == world.FaultTimeout {
		// The call went through; the answer never comes. The client cannot
		// tell, which is the point.
		s.record(c, result, err, fault)
		select {
		case <-r.Context().Done():
		case <-s.ctx.Done():
		}
		return
	}
	s.finish(rw, c, result, err, "")
}

func (s *Server) finish(rw http.ResponseWriter, c *call, result any, err error, fault string) {
	s.record(c, result, err, fault)
	if err != nil {
		writeError(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, okResponse{OK: true, Result: result, Description: c.description})
}

func (s *Server) record(c *call, result any, err error, fault string) {
	rec := world.Call{API: "bot", Account: c.bot.ID, Method: c.method, Params: map[string]string(c.p), Result: result, Fault: fault}
	if err != nil {
		rec.Error = errorDescription(err)
	}
	s.w.RecordCall(rec)
	if err != nil {
		s.log.Debug("bot api call failed", "method", c.method, "bot", c.bot.Username, "err", rec.Error)
	}
}

func errorDescription(err error) string {
	var we *world.Error
	if errors.As(err, &we) {
		return we.Description
	}
	return err.Error()
}

func writeError(rw http.ResponseWriter, err error) {
	var we *world.Error
	if !errors.As(err, &we) {
		we = &world.Error{Code: 500, Description: "Internal Server Error"}
	}
	body := errorResponse{OK: false, ErrorCode: we.Code, Description: we.Description}
	if we.RetryAfter > 0 {
		body.Parameters = &responseParameters{RetryAfter: we.RetryAfterSeconds()}
	}
	if we.MigrateTo != 0 {
		body.Parameters = &responseParameters{MigrateToChatID: we.MigrateTo}
	}
	writeJSON(rw, we.Code, body)
}

// The envelopes, fields in Telegram's order.
type okResponse struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"`
	Description string `json:"description,omitempty"`
}

type errorResponse struct {
	OK          bool                `json:"ok"`
	ErrorCode   int                 `json:"error_code"`
	Description string              `json:"description"`
	Parameters  *responseParameters `json:"parameters,omitempty"`
}

type responseParameters struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func badRequest(desc string) *world.Error {
	return &world.Error{Code: 400, Description: "Bad Request: " + desc, RPC: "BAD_REQUEST"}
}

func (s *Server) trueResult(context.Context, *call) (any, error) { return true, nil }
