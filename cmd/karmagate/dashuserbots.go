package main

import (
	"context"
	"strconv"
	"time"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/userbot"
)

// dashUserbots shows the userbot pool on the dashboard and logs accounts
// in from it: the pool's calls in the dashboard's words.
type dashUserbots struct {
	pool *userbot.Pool
	now  func() time.Time
}

func (d dashUserbots) Accounts(ctx context.Context) ([]dashboard.Account, error) {
	list, err := d.pool.List(ctx)
	if err != nil {
		return nil, err
	}
	now := d.now()
	out := make([]dashboard.Account, 0, len(list))
	for _, s := range list {
		a := dashboard.Account{ID: strconv.FormatInt(s.ID, 10), Phone: s.Phone, State: s.State,
			Channels: s.Channels, Cap: s.ChannelCap, LastError: s.LastError}
		if s.Username != nil {
			a.Username = *s.Username
		}
		for _, until := range s.FloodWaits {
			if until.After(now) && until.After(a.FloodWaitUntil) {
				a.FloodWaitUntil = until
			}
		}
		if !a.FloodWaitUntil.IsZero() && a.State == models.UserbotReady {
			a.State = "flood_wait"
		}
		if s.ReadyAt != nil {
			a.LastUsed = *s.ReadyAt
		}
		out = append(out, a)
	}
	return out, nil
}

func (d dashUserbots) StartLogin(ctx context.Context, phone string) (dashboard.LoginState, error) {
	st, err := d.pool.StartLogin(ctx, phone)
	return loginState(st), err
}

func (d dashUserbots) SubmitCode(ctx context.Context, id, code string) (dashboard.LoginState, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return dashboard.LoginState{}, models.ErrNotFound
	}
	st, err := d.pool.SubmitCode(ctx, n, code)
	if err != nil {
		return dashboard.LoginState{ID: id, State: models.UserbotCodeSent}, err
	}
	return loginState(st), nil
}

func (d dashUserbots) SubmitPassword(ctx context.Context, id, password string) (dashboard.LoginState, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return dashboard.LoginState{}, models.ErrNotFound
	}
	st, err := d.pool.SubmitPassword(ctx, n, password)
	if err != nil {
		return dashboard.LoginState{ID: id, State: models.UserbotPasswordNeeded}, err
	}
	return loginState(st), nil
}

func loginState(st models.LoginStep) dashboard.LoginState {
	return dashboard.LoginState{ID: strconv.FormatInt(st.ID, 10), State: st.State}
}
