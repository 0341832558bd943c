package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BotAPI is Bot over the Bot API's HTTP interface.
type BotAPI struct {
	// URL is the Bot API server (TELEGRAM_BOT_API_URL); Telegram's when
	// empty.
	URL   string
	Token string
	// Client makes the calls; one with a 15 s timeout when nil.
	Client *http.Client
}

// apiError is a Bot API answer with ok false.
type apiError struct {
	Code        int
	Description string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Description) }

// call calls a method and decodes its result; it returns the answer's
// Date header too.
func (b BotAPI) call(ctx context.Context, method string, params url.Values, out any) (time.Time, error) {
	base := strings.TrimRight(b.URL, "/")
	if base == "" {
		base = "https://api.telegram.org"
	}
	client := b.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/bot"+b.Token+"/"+method, strings.NewReader(params.Encode()))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	if err != nil {
		// The error names the URL, and with it the token.
		return time.Time{}, fmt.Errorf("%s: %s", method, strings.ReplaceAll(err.Error(), b.Token, "***"))
	}
	defer res.Body.Close()
	date, _ := http.ParseTime(res.Header.Get("Date"))
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return date, fmt.Errorf("%s: read the answer: %w", method, err)
	}
	var body struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return date, fmt.Errorf("%s: %s answered %s, not the Bot API's JSON", method, base, res.Status)
	}
	if !body.OK {
		if body.ErrorCode == 0 {
			body.ErrorCode = res.StatusCode
		}
		ae := &apiError{Code: body.ErrorCode, Description: body.Description}
		if method == "getMe" && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound) {
			return date, fmt.Errorf("%w: %s", ErrTokenRefused, ae.Description)
		}
		return date, ae
	}
	if err := json.Unmarshal(body.Result, out); err != nil {
		return date, fmt.Errorf("%s: decode the result: %w", method, err)
	}
	return date, nil
}

// GetMe implements Bot.
func (b BotAPI) GetMe(ctx context.Context) (Me, time.Time, error) {
	var u struct {
		ID                      int64  `json:"id"`
		Username                string `json:"username"`
		CanReadAllGroupMessages bool   `json:"can_read_all_group_messages"`
	}
	date, err := b.call(ctx, "getMe", url.Values{}, &u)
	if err != nil {
		return Me{}, date, err
	}
	return Me{ID: u.ID, Username: u.Username, CanReadAllGroupMessages: u.CanReadAllGroupMessages}, date, nil
}

// WebhookInfo implements Bot.
func (b BotAPI) WebhookInfo(ctx context.Context) (WebhookInfo, error) {
	var w struct {
		URL                string `json:"url"`
		PendingUpdateCount int    `json:"pending_update_count"`
		LastErrorDate      int64  `json:"last_error_date"`
		LastErrorMessage   string `json:"last_error_message"`
	}
	if _, err := b.call(ctx, "getWebhookInfo", url.Values{}, &w); err != nil {
		return WebhookInfo{}, err
	}
	info := WebhookInfo{URL: w.URL, PendingUpdateCount: w.PendingUpdateCount, LastErrorMessage: w.LastErrorMessage}
	if w.LastErrorDate > 0 {
		info.LastErrorDate = time.Unix(w.LastErrorDate, 0)
	}
	return info, nil
}

// Rights implements Bot.
func (b BotAPI) Rights(ctx context.Context, chatID, botID int64) (Rights, error) {
	var m struct {
		Status             string `json:"status"`
		CanInviteUsers     bool   `json:"can_invite_users"`
		CanRestrictMembers bool   `json:"can_restrict_members"`
		CanPinMessages     bool   `json:"can_pin_messages"`
		// Optional: "if omitted defaults to the value of
		// can_pin_messages" (Bot API 9.5).
		CanManageTags *bool `json:"can_manage_tags"`
	}
	params := url.Values{"chat_id": {strconv.FormatInt(chatID, 10)}, "user_id": {strconv.FormatInt(botID, 10)}}
	if _, err := b.call(ctx, "getChatMember", params, &m); err != nil {
		return Rights{}, err
	}
	tags := m.CanPinMessages
	if m.CanManageTags != nil {
		tags = *m.CanManageTags
	}
	return Rights{Status: m.Status, CanInviteUsers: m.CanInviteUsers, CanRestrictMembers: m.CanRestrictMembers, CanManageTags: tags}, nil
}
