package botapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/botapi"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// env is a world served by the emulator over real HTTP.
type env struct {
	t     *testing.T
	clock *sandboxtest.Clock
	w     *world.World
	srv   *botapi.Server
	http  *httptest.Server
	bot   world.User
	token string
	owner world.User // creates the groups
}

type botapiOptions = botapi.Options

func newEnv(t *testing.T, opts ...func(*botapi.Options, *world.Options)) *env {
	t.Helper()
	c := new(sandboxtest.Clock) // 2026-11-25 10:00 UTC
	wo := world.Options{Seed: 1, Now: c.Now}
	bo := botapi.Options{WebhookRetryMin: time.Millisecond, WebhookRetryMax: 5 * time.Millisecond}
	for _, o := range opts {
		o(&bo, &wo)
	}
	w := world.New(wo)
	srv := botapi.New(w, bo)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	b, token, err := w.CreateBot("test_karma_bot", "Test")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := w.CreateUser(world.UserSpec{FirstName: "Owner", Phone: "+15550100"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, clock: c, w: w, srv: srv, http: hs, bot: b, token: token, owner: owner}
}

// response is a Bot API answer.
type response struct {
	Status      int             `json:"-"`
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func (r response) String() string {
	if r.OK {
		return "ok: " + string(r.Result)
	}
	return fmt.Sprintf("%d %s (retry_after %d)", r.ErrorCode, r.Description, r.Parameters.RetryAfter)
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if !r.OK {
		t.Fatalf("call failed: %s", r)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		t.Fatalf("decode %s: %v", r.Result, err)
	}
}

// call posts params as JSON with the env's bot token.
func (e *env) call(method string, params map[string]any) response {
	return e.callAs(e.token, method, params)
}

func (e *env) callAs(token, method string, params map[string]any) response {
	e.t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.Post(e.http.URL+"/bot"+token+"/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return readResponse(e.t, resp)
}

func readResponse(t *testing.T, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	r.Status = resp.StatusCode
	return r
}

func (e *env) mustOK(method string, params map[string]any) response {
	e.t.Helper()
	r := e.call(method, params)
	if !r.OK {
		e.t.Fatalf("%s(%v): %s", method, params, r)
	}
	return r
}

func (e *env) user(name string) world.User {
	e.t.Helper()
	u, err := e.w.CreateUser(world.UserSpec{FirstName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// group creates a supergroup owned by e.owner with the bot as admin.
func (e *env) group(rights world.AdminRights) world.Chat {
	e.t.Helper()
	c, err := e.w.CreateSupergroup(e.owner.ID, "Webmasters Pro", "karma >= 100")
	if err != nil {
		e.t.Fatal(err)
	}
	if rights.Any() {
		if err := e.w.PromoteAdmin(c.ID, e.owner.ID, e.bot.ID, rights, ""); err != nil {
			e.t.Fatal(err)
		}
	}
	return c
}

func inviteRights() world.AdminRights {
	return world.AdminRights{CanManageChat: true, CanInviteUsers: true, CanRestrictMembers: true, CanDeleteMessages: true}
}

// update is the part of Update the tests read.
type update struct {
	UpdateID        int64           `json:"update_id"`
	Message         json.RawMessage `json:"message"`
	ChatMember      json.RawMessage `json:"chat_member"`
	MyChatMember    json.RawMessage `json:"my_chat_member"`
	ChatJoinRequest json.RawMessage `json:"chat_join_request"`
	CallbackQuery   json.RawMessage `json:"callback_query"`
}

func (u update) kind() string {
	switch {
	case u.Message != nil:
		return "message"
	case u.ChatMember != nil:
		return "chat_member"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChatJoinRequest != nil:
		return "chat_join_request"
	case u.CallbackQuery != nil:
		return "callback_query"
	}
	return "?"
}

// drain returns the pending updates and acknowledges them.
func (e *env) drain(token string, params map[string]any) []update {
	e.t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	r := e.callAs(token, "getUpdates", params)
	var ups []update
	r.decode(e.t, &ups)
	if len(ups) > 0 {
		ack := map[string]any{"offset": ups[len(ups)-1].UpdateID + 1, "timeout": 0}
		e.callAs(token, "getUpdates", ack)
	}
	return ups
}

func kinds(ups []update) []string {
	out := []string{}
	for _, u := range ups {
		out = append(out, u.kind())
	}
	return out
}
