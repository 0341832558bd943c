package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
)

// APIError is an error answer of the Bot API, whichever path the call took.
type APIError struct {
	Method      string
	Code        int    // 400, 403, 429, …
	Description string // "Bad Request: USER_ALREADY_PARTICIPANT"
	RetryAfter  time.Duration
	MigrateTo   int64
}

func (e *APIError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s: %s (retry after %s)", e.Method, e.Description, e.RetryAfter)
	}
	return fmt.Sprintf("%s: %s", e.Method, e.Description)
}

// Is lets go-telegram/bot's sentinels match: errors.Is(err,
// tgbot.ErrorForbidden) holds for a 403 from either path.
func (e *APIError) Is(target error) bool {
	switch target {
	case tgbot.ErrorBadRequest:
		return e.Code == http.StatusBadRequest
	case tgbot.ErrorForbidden:
		return e.Code == http.StatusForbidden
	case tgbot.ErrorUnauthorized:
		return e.Code == http.StatusUnauthorized
	case tgbot.ErrorNotFound:
		return e.Code == http.StatusNotFound
	case tgbot.ErrorConflict:
		return e.Code == http.StatusConflict
	case tgbot.ErrorTooManyRequests:
		return e.Code == http.StatusTooManyRequests
	}
	return false
}

// apiErrorOf returns the Bot API's answer inside err: ours from call, or
// go-telegram/bot's (a sentinel wrapped with the description, or its typed
// errors). It is nil for errors that did not come from Telegram (network,
// timeouts), whose effect is unknown.
func apiErrorOf(err error) *APIError {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var tm *tgbot.TooManyRequestsError
	if errors.As(err, &tm) {
		return &APIError{Code: http.StatusTooManyRequests, Description: "Too Many Requests: retry after " + strconv.Itoa(tm.RetryAfter),
			RetryAfter: time.Duration(max(tm.RetryAfter, 1)) * time.Second}
	}
	var mig *tgbot.MigrateError
	if errors.As(err, &mig) {
		return &APIError{Code: http.StatusBadRequest, Description: mig.Message, MigrateTo: int64(mig.MigrateToChatID)}
	}
	for _, s := range []struct {
		err    error
		code   int
		prefix string
	}{
		{tgbot.ErrorBadRequest, 400, "Bad Request: "},
		{tgbot.ErrorForbidden, 403, "Forbidden: "},
		{tgbot.ErrorUnauthorized, 401, "Unauthorized: "},
		{tgbot.ErrorNotFound, 404, "Not Found: "},
		{tgbot.ErrorConflict, 409, "Conflict: "},
	} {
		if errors.Is(err, s.err) {
			// go-telegram/bot formats "%w, %s" with Telegram's description.
			_, desc, _ := strings.Cut(err.Error(), s.err.Error()+", ")
			return &APIError{Code: s.code, Description: desc}
		}
	}
	return nil
}

// rpcOf is the error's RPC-style name in Telegram's description
// ("USER_ALREADY_PARTICIPANT" of "Bad Request: USER_ALREADY_PARTICIPANT"),
// or its human text ("bot was blocked by the user").
func (e *APIError) rpc() string {
	_, after, ok := strings.Cut(e.Description, ": ")
	if !ok {
		return e.Description
	}
	return after
}

// call invokes a Bot API method go-telegram/bot (Bot API 9.4) lacks, over
// the same HTTP client, server and token: a JSON POST, answered as
// go-telegram/bot answers (the same error values, through APIError.Is).
func (c *client) call(ctx context.Context, method string, params, dest any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s: encode parameters: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, redactToken(err, c.token))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", method, err)
	}
	var r struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
		Parameters  struct {
			RetryAfter      int   `json:"retry_after"`
			MigrateToChatID int64 `json:"migrate_to_chat_id"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s: HTTP %d, not a Bot API answer: %w", method, resp.StatusCode, err)
	}
	if !r.OK {
		e := &APIError{Method: method, Code: r.ErrorCode, Description: r.Description, MigrateTo: r.Parameters.MigrateToChatID}
		if r.Parameters.RetryAfter > 0 {
			e.RetryAfter = time.Duration(r.Parameters.RetryAfter) * time.Second
		}
		if e.Code == 0 {
			e.Code = resp.StatusCode
		}
		return e
	}
	if dest != nil {
		if err := json.Unmarshal(r.Result, dest); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
	}
	return nil
}

// redactToken keeps the bot token out of error texts (URLs carry it).
func redactToken(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
}

// failure is what an error from Telegram means for the work that met it.
type failure int

const (
	failUnknown  failure = iota // network or 5xx: may or may not have happened; retry with backoff
	failNotSent                 // certainly not done (connection refused): retry
	failFlood                   // 429: wait exactly retry_after
	failAlready                 // the effect is there already: count as done
	failMissing                 // nothing to act on (no such request): count as done
	failBlocked                 // the person blocked the bot
	failUserGone                // the user does not exist or is deactivated
	failChat                    // the chat is gone, or the bot lost its place or rights there
	failRefused                 // any other refusal: retrying cannot help
	// The refusals of issue 14 (refusals.go says what each means and does).
	failNotStarted    // the bot saw the person but they never started it
	failNoPrivateChat // "chat not found" for a private chat: the bot never saw the person
	failPersonLimited // the person cannot join more groups (too many, or limited by Telegram)
	failIsAdmin       // the person is an admin of the chat: in already, and never removed
	failBannedInChat  // the chat's admins banned the person: not let in over their ban
	failChatFull      // the chat is at Telegram's member limit
	failMigrated      // the basic group became a supergroup: the call goes to the new id
	failNoEphemeral   // the chat takes no ephemeral message: the answer goes by DM (ephemeral.go)
)

// knownFailures maps Telegram's descriptions (the part after "Bad
// Request: " or "Forbidden: ") to what they mean: the one place that reads
// them, built from the refusals table (refusals.go), which the README's
// "Telegram's answers and what karmagate does" mirrors.
var knownFailures = refusalIndex()

// classify says what err means, wherever it came from; classifyIn reads
// "chat not found" for a private chat as the person, not the chat.
func classify(err error) failure {
	if err == nil {
		return failUnknown
	}
	ae := apiErrorOf(err)
	if ae == nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return failNotSent
		}
		return failUnknown
	}
	switch {
	case ae.Code == http.StatusTooManyRequests:
		return failFlood
	case ae.Code >= 500:
		return failUnknown
	}
	rpc := ae.rpc()
	if f, ok := knownFailures[rpc]; ok {
		return f
	}
	for prefix, f := range knownFailures {
		if strings.HasPrefix(rpc, prefix) {
			return f
		}
	}
	if ae.Code == http.StatusForbidden {
		return failChat
	}
	return failRefused
}
