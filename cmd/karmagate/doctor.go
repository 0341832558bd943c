package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/karmagate/karmagate/doctor"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// runDoctor is `karmagate doctor`: it checks serve's configuration against
// Telegram, the database and the network, prints a line per check, and
// fails (exit 1) unless the setup is ready for production.
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// Every problem is the doctor's to report: the configuration's own
	// check is one of its lines.
	var invalid error
	cfg, err := loadConfig("doctor", args, getenv, stderr, func(c *Config) error {
		invalid = c.Validate()
		return nil
	})
	if err != nil {
		return err
	}
	store := openDoctorStore(ctx, cfg)
	defer store.close()
	rep := doctor.Run(ctx, doctor.Options{
		Bot:            doctor.BotAPI{URL: cfg.BotAPIURL, Token: cfg.BotToken},
		Store:          store,
		Config:         invalid,
		BotAPIURL:      cfg.BotAPIURL,
		WebhookURL:     cfg.WebhookURL,
		TrustedProxies: len(cfg.TrustedProxies),
		Userbots:       cfg.APIID != 0,
		Login:          doctorLogin(cfg),
	})
	if err := rep.Write(stdout); err != nil {
		return err
	}
	if !rep.Ready() {
		return fmt.Errorf("not ready for production: %d problem(s) to fix", rep.Count(doctor.Fail))
	}
	return nil
}

// doctorStore is doctor.Store over karmagate's database; err is why it
// could not be opened.
type doctorStore struct {
	db    *models.DB
	store *models.Store
	rules *gate.Rules
	err   error
}

// openDoctorStore opens the database without creating or migrating it.
func openDoctorStore(ctx context.Context, cfg Config) *doctorStore {
	s := &doctorStore{rules: &gate.Rules{}}
	if cfg.RulesPath != "" {
		if r, err := gate.LoadRules(cfg.RulesPath); err == nil {
			s.rules = r
		}
	}
	if path, ok := strings.CutPrefix(cfg.DB, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			s.err = fmt.Errorf("no database at %s yet: karmagate migrate (or serve) creates it", path)
			return s
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := models.Open(ctx, cfg.DB, models.OpenOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		s.err = fmt.Errorf("cannot open the database: %w", err)
		return s
	}
	s.db = db
	s.store = models.NewStore(db, s.rules, models.Options{})
	return s
}

func (s *doctorStore) close() {
	if s.db != nil {
		s.db.Close()
	}
}

// CheckSchema implements doctor.Store.
func (s *doctorStore) CheckSchema(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach the database: %w", err)
	}
	return s.db.CheckSchema(ctx)
}

// Chats implements doctor.Store: the rules' chats with their Telegram ids
// where bound.
func (s *doctorStore) Chats(ctx context.Context) ([]doctor.Chat, error) {
	rows, err := s.store.ChatRows(ctx)
	if err != nil {
		return nil, err
	}
	bound := map[string]int64{}
	for _, r := range rows {
		if r.TgChatID != nil {
			bound[r.ChatKey] = *r.TgChatID
		}
	}
	var out []doctor.Chat
	for _, c := range s.rules.Chats {
		out = append(out, doctor.Chat{Key: c.Key, Title: c.Title, TgChatID: bound[c.Key], Tags: c.Tag != ""})
	}
	return out, nil
}

// Userbots implements doctor.Store.
func (s *doctorStore) Userbots(ctx context.Context) ([]doctor.Userbot, error) {
	list, err := s.store.Userbots().ListUserbots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]doctor.Userbot, 0, len(list))
	for _, u := range list {
		out = append(out, doctor.Userbot{ID: u.ID, Phone: u.Phone, State: u.State, LastError: u.LastError,
			PeerFlood: u.PeerFloodAt != nil, Channels: u.Channels, ChannelCap: u.ChannelCap})
	}
	return out, nil
}
