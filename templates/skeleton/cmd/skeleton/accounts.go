package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
)

func createAdminCommand() *command {
	return &command{name: "createadmin", summary: "Create an administrator, or make an existing account one and set its password.",
		synopsis: "--email ADDRESS [--name NAME] [--password-stdin]",
		detail:   "Without --password-stdin it prompts for the password, only in a terminal.\n",
		flags:    createAdmin}
}

// createAdmin creates an administrator, or makes an existing account one
// and sets its password:
//
//	createadmin --email a@example.com [--name Ada] --password-stdin < file
//	createadmin --email a@example.com     (prompts, without echo)
func createAdmin(fs *flag.FlagSet) func(context.Context, invocation) error {
	email := fs.String("email", "", "the administrator's email address (required)")
	name := fs.String("name", "", "the display name (default: the part of the address before @)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	return func(ctx context.Context, inv invocation) error {
		if *email == "" {
			return inv.usageError("createadmin needs --email ADDRESS, and --password-stdin unless it runs in a terminal")
		}
		password, err := readPassword(inv, *fromStdin)
		if err != nil {
			return err
		}
		a, err := newApp(ctx, inv)
		if err != nil {
			return err
		}
		defer a.Close()
		created, err := a.accounts.Users.EnsureAdmin(ctx, *email, *name, password, "createadmin")
		if err != nil {
			return fmt.Errorf("createadmin: %w", err)
		}
		if created {
			fmt.Fprintf(inv.stdout, "Created administrator %s.\n", *email)
		} else {
			fmt.Fprintf(inv.stdout, "%s is now an administrator with the new password; its other sessions are signed out.\n", *email)
		}
		return nil
	}
}

// readPassword reads the password from stdin's first line with
// --password-stdin, or prompts twice without echo when stdin is a
// terminal. A password is never a flag: flags show in ps and shell history.
func readPassword(inv invocation, fromStdin bool) (string, error) {
	stdout := inv.stdout
	if fromStdin {
		line, err := bufio.NewReader(inv.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return "", errors.New("standard input held no password: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | ... createadmin --email ... --password-stdin")
		}
		return password, nil
	}
	f, ok := inv.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", inv.usageError("createadmin: standard input is not a terminal; pass --password-stdin and pipe the password in")
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

func seedDemoCommand() *command {
	return &command{name: "seed-demo", summary: "Create " + demoUserEmail + " and " + demoAdminEmail + " with a known password (refused with APP_ENV=production).",
		flags: noFlags(seedDemo)}
}

// seedDemo creates a demo user and a demo admin with a known password.
// It refuses to run with APP_ENV=production.
func seedDemo(ctx context.Context, inv invocation) error {
	a, err := newApp(ctx, inv)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.cfg.Env == config.Production {
		return errors.New("seed-demo refuses to run with APP_ENV=production: demo accounts have a published password")
	}
	if _, err := a.accounts.Users.EnsureUser(ctx, demoUserEmail, "Demo User", demoPassword, "seed-demo"); err != nil {
		return fmt.Errorf("seed-demo: %w", err)
	}
	if _, err := a.accounts.Users.EnsureAdmin(ctx, demoAdminEmail, "Demo Admin", demoPassword, "seed-demo"); err != nil {
		return fmt.Errorf("seed-demo: %w", err)
	}
	fmt.Fprintf(inv.stdout, "Demo accounts ready, password %q:\n  %s (user)\n  %s (admin)\n", demoPassword, demoUserEmail, demoAdminEmail)
	return nil
}
