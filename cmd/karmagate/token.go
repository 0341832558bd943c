package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// checkToken asks the Bot API whether it knows the bot's token (getMe),
// before serve creates anything: a token Telegram refuses (401, 404) stops
// it with a sentence. Anything else — the Bot API unreachable, a 5xx — is
// no verdict, and serve goes on (the bot tells again when it starts).
func checkToken(ctx context.Context, cfg Config) error {
	base := strings.TrimSuffix(cfg.BotAPIURL, "/")
	if base == "" {
		base = "https://api.telegram.org"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/bot"+cfg.BotToken+"/getMe", nil)
	if err != nil {
		return nil // a URL that does not parse is the config's to report
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusNotFound {
		return nil
	}
	var body struct {
		Description string `json:"description"`
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	_ = json.Unmarshal(raw, &body)
	if body.Description == "" {
		body.Description = res.Status
	}
	return fmt.Errorf("TELEGRAM_BOT_TOKEN was refused by the Bot API (%s): copy the token @BotFather gave the bot again", body.Description)
}
