package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/sessions"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web"
)

// accountParts builds the accounts service and what it needs.
func accountParts(cfg config.Config, db *database.DB, logger *slog.Logger) (web.Accounts, *mail.Outbox, error) {
	composer, err := mail.NewComposer(appName, cfg.BaseURL.String())
	if err != nil {
		return web.Accounts{}, nil, err
	}
	outbox := mail.NewOutbox(db)
	clk := clock.System{}
	users := accounts.New(accounts.Options{DB: db, Hasher: accounts.NewHasher(accounts.DefaultParams), Outbox: outbox, Composer: composer,
		Limiter: ratelimit.New(db, clk), Logger: logger, BaseURL: cfg.BaseURL.String(), Clock: clk})
	return web.Accounts{
		Users:    users,
		Sessions: sessions.New(db, sessions.DefaultTimeouts, clk),
		Audit:    audit.NewLog(db),
		Outbox:   outbox,
		Messages: contact.NewStore(db, clk),
	}, outbox, nil
}

// emailSender is the configured backend.
func emailSender(cfg config.Email) (mail.Sender, error) {
	if cfg.Backend == "file" {
		return mail.FileSender{Dir: cfg.FileDir, From: cfg.From}, nil
	}
	return mail.NewSMTPSender(mail.SMTPConfig{
		Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword.Reveal(),
		TLS: cfg.SMTPTLS, From: cfg.From, Timeout: 20 * time.Second,
	})
}

// runHousekeeping deletes expired sessions and stale rate-limit counts
// every few minutes until ctx ends.
func runHousekeeping(ctx context.Context, logger *slog.Logger, acct web.Accounts) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		for _, prune := range []func(context.Context) error{acct.Sessions.Prune, acct.Users.PruneRateLimits} {
			if err := prune(ctx); err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "housekeeping", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// openForCommand loads the configuration and opens the migrated database
// for a one-off command.
func openForCommand(ctx context.Context, getenv func(string) string, stderr io.Writer) (config.Config, *database.DB, *slog.Logger, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	logger := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	db, err := database.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	return cfg, db, logger, nil
}

// createAdmin creates an administrator, or makes an existing account one
// and sets its password:
//
//	createadmin --email a@example.com [--name Ada] --password-stdin < file
//	createadmin --email a@example.com     (prompts, without echo)
func createAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("createadmin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the administrator's email address (required)")
	name := fs.String("name", "", "the display name (default: the part of the address before @)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return usageError{"createadmin: " + err.Error()}
	}
	if *email == "" || fs.NArg() > 0 {
		return usageError{"createadmin needs --email ADDRESS, and --password-stdin unless it runs in a terminal"}
	}
	password, err := readPassword(stdin, stdout, *fromStdin)
	if err != nil {
		return err
	}
	cfg, db, logger, err := openForCommand(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	acct, _, err := accountParts(cfg, db, logger)
	if err != nil {
		return err
	}
	created, err := acct.Users.EnsureAdmin(ctx, *email, *name, password, "createadmin")
	if err != nil {
		return fmt.Errorf("createadmin: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "Created administrator %s.\n", *email)
	} else {
		fmt.Fprintf(stdout, "%s is now an administrator with the new password; its other sessions are signed out.\n", *email)
	}
	return nil
}

// readPassword reads the password from stdin's first line with
// --password-stdin, or prompts twice without echo when stdin is a
// terminal. A password is never a flag: flags show in ps and shell history.
func readPassword(stdin io.Reader, stdout io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return "", errors.New("standard input held no password: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | ... createadmin --email ... --password-stdin")
		}
		return password, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{"createadmin: standard input is not a terminal; pass --password-stdin and pipe the password in"}
	}
	fmt.Fprint(stdout, "Password: ")
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stdout)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	fmt.Fprint(stdout, "Password again: ")
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stdout)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("the two passwords differ; run createadmin again")
	}
	return string(first), nil
}

// Demo accounts, for trying the application out on one's own machine.
const (
	demoUserEmail  = "demo@example.com"
	demoAdminEmail = "admin@example.com"
	demoPassword   = "try-it-out-locally-only"
)

// seedDemo creates a demo user and a demo admin with a known password.
// It refuses to run with APP_ENV=production.
func seedDemo(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, db, logger, err := openForCommand(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.Env == config.Production {
		return errors.New("seed-demo refuses to run with APP_ENV=production: demo accounts have a published password")
	}
	acct, _, err := accountParts(cfg, db, logger)
	if err != nil {
		return err
	}
	if _, err := acct.Users.EnsureUser(ctx, demoUserEmail, "Demo User", demoPassword, "seed-demo"); err != nil {
		return fmt.Errorf("seed-demo: %w", err)
	}
	if _, err := acct.Users.EnsureAdmin(ctx, demoAdminEmail, "Demo Admin", demoPassword, "seed-demo"); err != nil {
		return fmt.Errorf("seed-demo: %w", err)
	}
	fmt.Fprintf(stdout, "Demo accounts ready, password %q:\n  %s (user)\n  %s (admin)\n", demoPassword, demoUserEmail, demoAdminEmail)
	return nil
}
