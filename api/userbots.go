package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/karmagate/karmagate/models"
)

// Userbots logs the userbot pool's accounts in and out and lists them. The
// userbot pool provides it; without one (TELEGRAM_API_ID unset) the
// userbot endpoints answer 503.
type Userbots interface {
	StartLogin(ctx context.Context, phone string) (models.LoginStep, error)
	SubmitCode(ctx context.Context, id int64, code string) (models.LoginStep, error)
	SubmitPassword(ctx context.Context, id int64, password string) (models.LoginStep, error)
	List(ctx context.Context) ([]models.UserbotStatus, error)
	Logout(ctx context.Context, id int64) error
}

// userbotRefusal is how a Userbots implementation says what the operator
// can act on (a wrong code, an unknown phone): the status, the problem's
// kind and Telegram's reason.
type userbotRefusal interface {
	error
	HTTPStatus() int
	ProblemKind() string
	TelegramError() string
}

// userbotError turns a refusal into its problem; other errors pass.
func userbotError(err error) error {
	var r userbotRefusal
	if errors.As(err, &r) {
		return problem(r.HTTPStatus(), r.ProblemKind(), r.Error()) // the detail names Telegram's reason
	}
	return err
}

// userbotRoutes take the admin token (KARMAGATE_ADMIN_TOKEN), never the
// website's API key: the pool's accounts act as the site's admins on
// Telegram.
func (s *Server) userbotRoutes() {
	s.handleAdmin("GET /api/v1/userbots", noQuery(s.listUserbots))
	s.handleAdmin("POST /api/v1/userbots", noQuery(s.startUserbotLogin))
	s.handleAdmin("POST /api/v1/userbots/{id}/code", noQuery(s.userbotCode))
	s.handleAdmin("POST /api/v1/userbots/{id}/password", noQuery(s.userbotPassword))
	s.handleAdmin("DELETE /api/v1/userbots/{id}", noQuery(s.deleteUserbot))
}

func (s *Server) needUserbots() error {
	if s.userbots == nil {
		return problem(http.StatusServiceUnavailable, "userbots-off", "the userbot pool is off: set TELEGRAM_API_ID and TELEGRAM_API_HASH")
	}
	return nil
}

// userbotField reads one field of a JSON object or form body, never
// echoing its value (a code or a password).
func userbotField(w http.ResponseWriter, r *http.Request, name string) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
		if err := r.ParseForm(); err != nil {
			return "", problem(http.StatusBadRequest, "invalid-body", "the form cannot be read")
		}
		v := r.PostForm.Get(name)
		if v == "" {
			return "", &models.InputError{Field: name, Detail: name + " is required"}
		}
		return v, nil
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return "", problem(http.StatusRequestEntityTooLarge, "body-too-large", "the body is over 64 KiB")
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return "", problem(http.StatusBadRequest, "invalid-json", "the body must be a JSON object such as {\""+name+"\": \"…\"}")
	}
	var v string
	if err := json.Unmarshal(body[name], &v); err != nil || v == "" {
		return "", &models.InputError{Field: name, Detail: name + " is required, as a string"}
	}
	return v, nil
}

func userbotID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem(http.StatusNotFound, "not-found", "no userbot "+r.PathValue("id"))
	}
	return id, nil
}

func userbotLinks(id int64) map[string]any {
	base := "/api/v1/userbots/" + strconv.FormatInt(id, 10)
	return map[string]any{"self": link(base), "code": link(base + "/code"), "password": link(base + "/password"), "userbots": link("/api/v1/userbots")}
}

func writeStep(w http.ResponseWriter, status int, st models.LoginStep) {
	writeJSON(w, status, map[string]any{"id": st.ID, "state": st.State, "_links": userbotLinks(st.ID)})
}

func (s *Server) listUserbots(w http.ResponseWriter, r *http.Request) error {
	if err := s.needUserbots(); err != nil {
		return err
	}
	list, err := s.userbots.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(list))
	for i, u := range list {
		out[i] = map[string]any{
			"id": u.ID, "phone": u.Phone, "telegram_user_id": u.TelegramID, "username": u.Username, "name": u.Name,
			"state": u.State, "channels": u.Channels, "channel_cap": u.ChannelCap, "groups_created_24h": u.CreatedToday,
			"adds_stopped": u.AddsStopped, "flood_waits": u.FloodWaits, "last_error": u.LastError, "held_by": u.HeldBy,
			"ready_at": u.ReadyAt, "_links": map[string]any{"self": link("/api/v1/userbots/" + strconv.FormatInt(u.ID, 10))},
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"userbots": out, "_links": map[string]any{"self": link("/api/v1/userbots")}})
	return nil
}

func (s *Server) startUserbotLogin(w http.ResponseWriter, r *http.Request) error {
	if err := s.needUserbots(); err != nil {
		return err
	}
	phone, err := userbotField(w, r, "phone")
	if err != nil {
		return err
	}
	st, err := s.userbots.StartLogin(loginContext(r), phone)
	if err != nil {
		return userbotError(err)
	}
	writeStep(w, http.StatusCreated, st)
	return nil
}

func (s *Server) userbotCode(w http.ResponseWriter, r *http.Request) error {
	if err := s.needUserbots(); err != nil {
		return err
	}
	id, err := userbotID(r)
	if err != nil {
		return err
	}
	code, err := userbotField(w, r, "code")
	if err != nil {
		return err
	}
	st, err := s.userbots.SubmitCode(loginContext(r), id, code)
	if err != nil {
		return userbotError(err)
	}
	writeStep(w, http.StatusOK, st)
	return nil
}

func (s *Server) userbotPassword(w http.ResponseWriter, r *http.Request) error {
	if err := s.needUserbots(); err != nil {
		return err
	}
	id, err := userbotID(r)
	if err != nil {
		return err
	}
	pw, err := userbotField(w, r, "password")
	if err != nil {
		return err
	}
	st, err := s.userbots.SubmitPassword(loginContext(r), id, pw)
	if err != nil {
		return userbotError(err)
	}
	writeStep(w, http.StatusOK, st)
	return nil
}

func (s *Server) deleteUserbot(w http.ResponseWriter, r *http.Request) error {
	if err := s.needUserbots(); err != nil {
		return err
	}
	id, err := userbotID(r)
	if err != nil {
		return err
	}
	if err := s.userbots.Logout(loginContext(r), id); err != nil {
		return userbotError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// loginContext is the context a login step runs in: a step that has
// reached Telegram finishes even if the admin's browser hangs up (the pool
// bounds every call to Telegram itself).
func loginContext(r *http.Request) context.Context {
	return context.WithoutCancel(r.Context())
}
