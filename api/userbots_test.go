package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// refusal is a login step Telegram refused, as the userbot pool reports it.
type refusal struct {
	status   int
	kind, tg string
}

func (r *refusal) Error() string         { return "the login code is wrong (Telegram: " + r.tg + ")" }
func (r *refusal) HTTPStatus() int       { return r.status }
func (r *refusal) ProblemKind() string   { return r.kind }
func (r *refusal) TelegramError() string { return r.tg }

// fakeUserbots logs in one account whose code is 12345 and password pw.
type fakeUserbots struct {
	state string
	gone  bool
}

func (f *fakeUserbots) StartLogin(_ context.Context, phone string) (models.LoginStep, error) {
	f.state = models.UserbotCodeSent
	return models.LoginStep{ID: 1, State: f.state}, nil
}

func (f *fakeUserbots) SubmitCode(_ context.Context, id int64, code string) (models.LoginStep, error) {
	if id != 1 {
		return models.LoginStep{}, models.ErrNotFound
	}
	if code != "12345" {
		return models.LoginStep{}, &refusal{http.StatusUnprocessableEntity, "code-invalid", "PHONE_CODE_INVALID"}
	}
	f.state = models.UserbotPasswordNeeded
	return models.LoginStep{ID: 1, State: f.state}, nil
}

func (f *fakeUserbots) SubmitPassword(_ context.Context, id int64, pw string) (models.LoginStep, error) {
	if pw != "pw" {
		return models.LoginStep{}, &refusal{http.StatusUnprocessableEntity, "password-invalid", "PASSWORD_HASH_INVALID"}
	}
	f.state = models.UserbotReady
	return models.LoginStep{ID: 1, State: f.state}, nil
}

func (f *fakeUserbots) List(context.Context) ([]models.UserbotStatus, error) {
	if f.gone || f.state == "" {
		return nil, nil
	}
	return []models.UserbotStatus{{ID: 1, Phone: "+31699999999", State: f.state, ChannelCap: 500,
		FloodWaits: map[string]time.Time{"channels.createChannel": time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)}}}, nil
}

func (f *fakeUserbots) Logout(_ context.Context, id int64) error {
	if id != 1 || f.gone {
		return models.ErrNotFound
	}
	f.gone = true
	return nil
}

func TestServer_Userbots(t *testing.T) {
	db := modelstest.MustOpen(t, modelstest.Specs(t)["sqlite"])
	store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
	srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key, AdminToken: adminToken, Userbots: &fakeUserbots{}}))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, store: store, client: srv.Client()}
	steps := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string // in the body
	}{
		{"start", "POST", "/api/v1/userbots", "application/json", `{"phone": "+31612345678"}`, 201, `"state":"code_sent"`},
		{"no phone", "POST", "/api/v1/userbots", "application/json", `{}`, 422, `phone is required`},
		{"wrong code", "POST", "/api/v1/userbots/1/code", "application/json", `{"code": "00000"}`, 422, `PHONE_CODE_INVALID`},
		{"code as a form", "POST", "/api/v1/userbots/1/code", "application/x-www-form-urlencoded", `code=12345`, 200, `"state":"password_needed"`},
		{"wrong password", "POST", "/api/v1/userbots/1/password", "application/json", `{"password": "nope"}`, 422, `urn:karmagate:problem:password-invalid`},
		{"password", "POST", "/api/v1/userbots/1/password", "application/json", `{"password": "pw"}`, 200, `"state":"ready"`},
		{"list", "GET", "/api/v1/userbots", "", "", 200, `"channels.createChannel":"2026-11-25T11:00:00Z"`},
		{"unknown", "POST", "/api/v1/userbots/9/code", "application/json", `{"code": "12345"}`, 404, `not-found`},
		{"logout", "DELETE", "/api/v1/userbots/1", "", "", 204, ``},
		{"logout again", "DELETE", "/api/v1/userbots/1", "", "", 404, `not-found`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := e.do(s.method, s.path, s.ctype, s.body, "Authorization", "Bearer "+adminToken)
			if r.Status != s.status || !strings.Contains(r.Raw, s.want) {
				t.Fatalf("%s %s: %d %s, want %d with %s", s.method, s.path, r.Status, r.Raw, s.status, s.want)
			}
			if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
			if strings.Contains(r.Raw, "12345") || strings.Contains(r.Raw, `"pw"`) {
				t.Fatalf("the answer echoes a secret: %s", r.Raw)
			}
		})
	}
	t.Run("off without a pool", func(t *testing.T) {
		off := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key, AdminToken: adminToken}))
		t.Cleanup(off.Close)
		e := &env{t: t, srv: off, store: store, client: off.Client()}
		if r := e.do("GET", "/api/v1/userbots", "", "", "Authorization", "Bearer "+adminToken); r.Status != 503 {
			t.Fatalf("got %d %s, want 503", r.Status, r.Raw)
		}
	})
}
