package world

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mini Apps at the door (Bot API 10.1): a guard bot may answer a
// join-request query with sendChatJoinRequestWebApp, within the query's 10
// seconds, instead of deciding at once. The requester is then shown the
// bot's Mini App; the bot decides later with answerChatJoinRequestQuery,
// "based on the user interaction with the Mini App", until
// Limits.JoinRequestWebAppTTL runs out (then the request goes to the
// admins, as an unanswered query's does). The sandbox shows the Mini App as
// a private message from the bot with a web_app button, and OpenWebApp is
// the person pressing it: the URL with the initData a Telegram client
// hands the page, signed with the bot's token as
// core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
// describes.

// ErrWebAppNotShown: the person was never shown a Mini App at that URL.
var ErrWebAppNotShown = sentinel(BadRequest("WEBAPP_NOT_FOUND", "no Mini App with this URL was shown to this user"))

// shownWebApp is a Mini App button a person received.
type shownWebApp struct {
	botID int64
	url   string
}

// SendJoinRequestWebApp is sendChatJoinRequestWebApp: botID, the guard bot
// holding queryID, shows the requester the Mini App at webAppURL (checked
// by the caller) and gets Limits.JoinRequestWebAppTTL, from now, to answer
// the query. A query that is unknown, another bot's, past its deadline,
// whose request was settled, or that already showed a Mini App is
// QUERY_ID_INVALID.
func (w *World) SendJoinRequestWebApp(botID int64, queryID, webAppURL string) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireJoinQueriesLocked()
	q, ok := w.ext.joinQueries[queryID]
	if !ok || q.botID != botID || q.webApp != "" {
		return ErrQueryIDInvalid
	}
	c := w.chats[q.channelID]
	if c == nil || c.requests[q.userID] != q.request {
		w.endJoinQueryLocked(q, false)
		return ErrQueryIDInvalid
	}
	now := w.now()
	ttl := w.limits.JoinRequestWebAppTTL
	q.webApp, q.deadline = webAppURL, now.Add(ttl)
	q.timer.Stop()
	q.timer = time.AfterFunc(ttl, func() { w.expireJoinQuery(q.id) })

	w.ext.webApps[q.userID] = append(w.ext.webApps[q.userID], shownWebApp{botID: botID, url: webAppURL})
	markup, err := json.Marshal(map[string]any{"inline_keyboard": [][]map[string]any{{{"text": "Open", "web_app": map[string]string{"url": webAppURL}}}}})
	if err != nil {
		return fmt.Errorf("web app button: %w", err)
	}
	key := dialogKey(botID, q.userID)
	m := Message{FromID: botID, ToID: q.userID, Date: now, ReplyMarkup: string(markup),
		Text: fmt.Sprintf("Your request to join %s: open the app to continue.", c.Title)}
	m.ID = w.nextMsgIDLocked(key)
	w.storeLocked(key, m)
	w.emitLocked(MessageSent{Message: m})
	return nil
}

// WebAppLaunch is a Mini App as a Telegram client opens it.
type WebAppLaunch struct {
	BotID int64
	// URL is the page with the launch parameters in its fragment
	// (#tgWebAppData=…&tgWebAppVersion=…&tgWebAppPlatform=…), where
	// telegram-web-app.js reads them.
	URL string
	// InitData is Telegram.WebApp.initData: user, auth_date, query_id and
	// hash, as a query string.
	InitData string
	AuthDate time.Time
}

// WebAppVersion is the Mini App API version the sandbox's "client" claims.
const WebAppVersion = "9.1"

// OpenWebApp is userID pressing a web_app button they were shown at
// webAppURL: the launch with initData signed with the bot's token. The
// button stays usable after the query ends, as a message's does.
func (w *World) OpenWebApp(userID int64, webAppURL string) (WebAppLaunch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok {
		return WebAppLaunch{}, ErrUserNotFound
	}
	w.ext.init()
	var botID int64
	for _, s := range w.ext.webApps[userID] {
		if s.url == webAppURL {
			botID = s.botID
		}
	}
	bot, ok := w.users[botID]
	if !ok {
		return WebAppLaunch{}, ErrWebAppNotShown
	}
	person := map[string]any{"id": u.ID, "first_name": u.FirstName, "allows_write_to_pm": true}
	if u.LastName != "" {
		person["last_name"] = u.LastName
	}
	if u.Username != "" {
		person["username"] = u.Username
	}
	if u.LanguageCode != "" {
		person["language_code"] = u.LanguageCode
	}
	pj, err := json.Marshal(person)
	if err != nil {
		return WebAppLaunch{}, fmt.Errorf("web app user: %w", err)
	}
	now := w.now()
	fields := map[string]string{
		"user":      string(pj),
		"auth_date": strconv.FormatInt(now.Unix(), 10),
		"query_id":  "AA" + w.randString(22, urlsafe),
	}
	fields["hash"] = SignWebAppData(bot.token, fields)
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	initData := v.Encode()
	frag := url.Values{"tgWebAppData": {initData}, "tgWebAppVersion": {WebAppVersion}, "tgWebAppPlatform": {"sandbox"}}
	base, _, _ := strings.Cut(webAppURL, "#")
	return WebAppLaunch{BotID: botID, URL: base + "#" + frag.Encode(), InitData: initData, AuthDate: now}, nil
}

// SignWebAppData is the hash Telegram puts in a Mini App's initData: the
// hex HMAC-SHA256, keyed with HMAC-SHA256(key "WebAppData", the bot's
// token), of every field but hash as sorted "key=value" lines.
func SignWebAppData(botToken string, fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
	}
	secret := hmac.New(sha256.New, []byte("WebAppData"))
	secret.Write([]byte(botToken))
	mac := hmac.New(sha256.New, secret.Sum(nil))
	mac.Write([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(mac.Sum(nil))
}
