package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/userbot"
)

// dashboardUserbots shows the userbot pool on the dashboard (states such
// as restricted or unauthorized with what to do) and runs its login
// steps.
type dashboardUserbots struct{ pool *userbot.Pool }

// Accounts lists the pool's accounts, never a secret.
func (d dashboardUserbots) Accounts(ctx context.Context) ([]dashboard.Account, error) {
	list, err := d.pool.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.Account, 0, len(list))
	for _, s := range list {
		a := dashboard.Account{ID: strconv.FormatInt(s.ID, 10), Phone: s.Phone, State: s.State,
			Channels: s.Channels, Cap: s.ChannelCap, LastError: s.LastError}
		if s.Username != nil {
			a.Username = *s.Username
		}
		for _, until := range s.FloodWaits {
			if until.After(a.FloodWaitUntil) {
				a.FloodWaitUntil = until
			}
		}
		if s.ReadyAt != nil {
			a.LastUsed = *s.ReadyAt
		}
		out = append(out, a)
	}
	return out, nil
}

func (d dashboardUserbots) StartLogin(ctx context.Context, phone string) (dashboard.LoginState, error) {
	return loginState(d.pool.StartLogin(ctx, phone))
}

func (d dashboardUserbots) SubmitCode(ctx context.Context, id, code string) (dashboard.LoginState, error) {
	n, err := loginID(id)
	if err != nil {
		return dashboard.LoginState{}, err
	}
	return loginState(d.pool.SubmitCode(ctx, n, code))
}

func (d dashboardUserbots) SubmitPassword(ctx context.Context, id, password string) (dashboard.LoginState, error) {
	n, err := loginID(id)
	if err != nil {
		return dashboard.LoginState{}, err
	}
	return loginState(d.pool.SubmitPassword(ctx, n, password))
}

func loginID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("userbot %q: %w", id, models.ErrNotFound)
	}
	return n, nil
}

// loginState is a login step's outcome for the dashboard: Telegram's and
// the pool's refusals as a form error the operator reads.
func loginState(step models.LoginStep, err error) (dashboard.LoginState, error) {
	var e *userbot.Error
	if errors.As(err, &e) {
		return dashboard.LoginState{}, &models.InputError{Detail: e.Error()}
	}
	if err != nil {
		return dashboard.LoginState{}, err
	}
	return dashboard.LoginState{ID: strconv.FormatInt(step.ID, 10), State: step.State}, nil
}
