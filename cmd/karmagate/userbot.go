package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/userbot"
)

const userbotUsage = `usage: karmagate userbot <command>

commands:
  login [--qr] [--phone PHONE]   log a Telegram account into the pool: phone, code, 2FA password
                                 (or a QR code to scan in Telegram) read from the terminal
  list                           the pool's accounts: state, channels and cap, flood waits, last error
  logout ID                      end an account's session on Telegram and delete it here

login and logout need KARMAGATE_DB, KARMAGATE_SECRET, TELEGRAM_API_ID and TELEGRAM_API_HASH
(and TELEGRAM_DC_ADDR and TELEGRAM_SERVER_KEY for the sandbox); list needs only
KARMAGATE_DB and KARMAGATE_SECRET.
`

// runUserbot is `karmagate userbot …`.
func runUserbot(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userbotUsage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("userbot "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, envErr := ConfigFromEnv(getenv)
	fs.StringVar(&cfg.DB, "db", cfg.DB, "database `SPEC`: sqlite:PATH or mysql:DSN (KARMAGATE_DB)")
	qr := false
	phone := ""
	switch cmd {
	case "login":
		fs.BoolVar(&qr, "qr", false, "log in by scanning a QR code instead of a code sent to the phone")
		fs.StringVar(&phone, "phone", "", "the account's `PHONE` number (asked when not given)")
	case "list", "logout":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, userbotUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "karmagate userbot: unknown command %q\n\n%s", cmd, userbotUsage)
		return errUsage
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	checks := []error{envErr, cfg.ValidateDB(), cfg.ValidateSecret()}
	if cmd != "list" {
		checks = append(checks, cfg.ValidateTelegram())
	}
	var id int64
	if cmd == "logout" {
		n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if fs.NArg() != 1 || err != nil || n <= 0 {
			checks = append(checks, errors.New("userbot logout: give the account's id, as userbot list shows it"))
		}
		id = n
	} else if fs.NArg() > 0 {
		checks = append(checks, fmt.Errorf("userbot %s: unexpected argument %q", cmd, fs.Arg(0)))
	}
	if err := configProblems(checks...); err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	cfg.RulesPath = "" // accounts need no rules
	if cmd == "list" {
		return userbotList(ctx, cfg, stdout)
	}
	db, _, err := openStore(ctx, cfg, logger, nil, true)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := checkSecret(ctx, db, cfg.Secret)
	if err != nil {
		return err
	}
	pool, err := userbot.New(userbot.Options{Accounts: models.NewUserbots(db, nil), Vault: v, Telegram: telegramOf(cfg), Actor: "cli", Logger: logger})
	if err != nil {
		return err
	}
	if cmd == "logout" {
		if err := pool.Logout(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "userbot %d logged out and deleted\n", id)
		return nil
	}
	return userbotLogin(ctx, pool, qr, phone, bufio.NewReader(stdin), stdout)
}

// userbotList prints the accounts; it needs only the database and the
// secret, and an empty database has none.
func userbotList(ctx context.Context, cfg Config, stdout io.Writer) error {
	db, err := models.Open(ctx, cfg.DB, models.OpenOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := checkSecret(ctx, db, cfg.Secret); err != nil {
		return err
	}
	ver, err := db.Version(ctx)
	if err != nil {
		return err
	}
	if ver == 0 {
		fmt.Fprintln(stdout, "no userbot accounts (the database is empty; log one in with karmagate userbot login)")
		return nil
	}
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	list, err := userbot.List(ctx, models.NewUserbots(db, nil), nil)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no userbot accounts (log one in with karmagate userbot login)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPHONE\tTELEGRAM\tSTATE\tCHANNELS\tCREATED 24H\tFLOOD WAITS\tLAST ERROR")
	for _, s := range list {
		who := "-"
		if s.TelegramID != nil {
			who = strconv.FormatInt(*s.TelegramID, 10)
			if s.Username != nil {
				who += " @" + *s.Username
			}
		}
		state := s.State
		if s.AddsStopped {
			state += " (adds stopped)"
		}
		var waits []string
		for m, until := range s.FloodWaits {
			waits = append(waits, m+" until "+until.Local().Format("15:04:05"))
		}
		if len(waits) == 0 {
			waits = []string{"-"}
		}
		last := s.LastError
		if last == "" {
			last = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", s.ID, s.Phone, who, state, s.Channels, s.ChannelCap, s.CreatedToday, strings.Join(waits, ", "), last)
	}
	return tw.Flush()
}

// userbotLogin walks an operator through a login in the terminal.
func userbotLogin(ctx context.Context, pool *userbot.Pool, qr bool, phone string, in *bufio.Reader, out io.Writer) error {
	var step models.LoginStep
	var err error
	if qr {
		fmt.Fprintln(out, "Scan this code in Telegram on the account's phone: Settings → Devices → Link Desktop Device.")
		step, err = pool.LoginQR(ctx, func(ctx context.Context, url string, expires time.Time) error {
			if err := userbot.DrawQR(out, url); err != nil {
				return err
			}
			fmt.Fprintf(out, "(or open %s on the phone; the code is new every 30 seconds)\n", url)
			return nil
		})
		if err != nil {
			return err
		}
	} else {
		if phone == "" {
			if phone, err = prompt(in, out, "Phone number (international, e.g. +31612345678): ", false); err != nil {
				return err
			}
		}
		if step, err = pool.StartLogin(ctx, phone); err != nil {
			return err
		}
		for step.State == models.UserbotCodeSent {
			code, err := prompt(in, out, "Code Telegram sent to the account: ", false)
			if err != nil {
				return err
			}
			id := step.ID
			step, err = pool.SubmitCode(ctx, id, code)
			var ue *userbot.Error
			if errors.As(err, &ue) && ue.Kind == "code-invalid" {
				fmt.Fprintln(out, ue.Error())
				// The same login goes on: a failed step answers no step.
				step = models.LoginStep{ID: id, State: models.UserbotCodeSent}
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	for step.State == models.UserbotPasswordNeeded {
		pw, err := prompt(in, out, "Two-step verification password: ", true)
		if err != nil {
			return err
		}
		id := step.ID
		step, err = pool.SubmitPassword(ctx, id, pw)
		var ue *userbot.Error
		if errors.As(err, &ue) && ue.Kind == "password-invalid" {
			fmt.Fprintln(out, ue.Error())
			step = models.LoginStep{ID: id, State: models.UserbotPasswordNeeded}
			continue
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "userbot %d is %s: karmagate serve will use it\n", step.ID, step.State)
	return nil
}

// prompt asks for one line; secret input is not echoed on a terminal.
func prompt(in *bufio.Reader, out io.Writer, question string, secret bool) (string, error) {
	fmt.Fprint(out, question)
	if secret {
		if restore := noEcho(os.Stdin); restore != nil {
			defer func() { restore(); fmt.Fprintln(out) }()
		}
	}
	line, err := in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("read the answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}
