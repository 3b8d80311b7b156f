// The application's one binary: it serves the site, migrates its database,
// checks its own health and runs the management commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	// The release image is FROM scratch: it has no CA bundle and no zoneinfo,
	// so both are compiled in.
	_ "golang.org/x/crypto/x509roots/fallback"
	_ "time/tzdata"
)

// appName is the project's name. quickscale init writes it, and the two
// stamps below, into the generated copy of this file.
const appName = "skeleton"

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// Which skeleton and quickscale made the project; kept for `version` and
// support questions.
const (
	templateVersion   = "0"
	quickscaleVersion = "dev"
)

const usage = `Usage: ` + appName + ` <command>

Commands:
  serve            Start the web server on HTTP_ADDR (default :8000).
  migrate up       Apply every pending database migration.
  migrate down     Revert the most recent migration.
  migrate status   List migrations and whether each is applied.
  healthcheck      Exit 0 when the running server on HTTP_ADDR is ready.
  createadmin      Create an administrator (or make an account one):
                   createadmin --email ADDRESS [--name NAME] [--password-stdin]
                   Without --password-stdin it prompts in a terminal.
  seed-demo        Create demo@example.com and admin@example.com with a
                   known password (refused with APP_ENV=production).
  credits grant    Give credits: credits grant --email ADDRESS --amount N
                   [--expires 720h|2030-12-31] [--reason TEXT]
  credits adjust   Add or deduct with an audited reason:
                   credits adjust --email ADDRESS --amount +N|-N --reason TEXT
  credits show     Balance and latest journal entries: --email ADDRESS [--limit N]
  credits check    Verify every balance against its journal and lots.
  apikey create    Make an API key (printed once on stdout):
                   apikey create --email ADDRESS --name NAME
  version          Print the version.
  help             Show this help.

Configuration comes from the environment: APP_ENV, HTTP_ADDR, BASE_URL,
DATABASE_URL, SECRET_KEY, LOG_LEVEL, LOG_FORMAT, TRUST_PROXY_HEADERS,
EMAIL_BACKEND, EMAIL_FROM, EMAIL_FILE_DIR, SMTP_HOST, SMTP_PORT,
SMTP_USERNAME, SMTP_PASSWORD, SMTP_TLS.
See README.md for what each one does.
`

// usageError is a command line that cannot run; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string {
	return e.msg + "\nRun `" + appName + " help` for the list of commands."
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", appName, err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run is the whole program. It takes its environment as arguments so tests
// can run it in-process with their own, and returns when ctx is cancelled
// (SIGINT or SIGTERM) or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch cmd := args[1]; cmd {
	case "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "migrate":
		return migrateCommand(ctx, args[2:], getenv, stdout)
	case "createadmin":
		return createAdmin(ctx, args[2:], getenv, stdin, stdout, stderr)
	case "seed-demo":
		return seedDemo(ctx, getenv, stdout, stderr)
	case "credits":
		return creditsCommand(ctx, args[2:], getenv, stdout, stderr)
	case "apikey":
		return apikeyCommand(ctx, args[2:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "%s %s (quickscale %s, template %s)\n", appName, appVersion(), quickscaleVersion, templateVersion)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// appVersion is the -ldflags version, else the module version or VCS
// revision the Go tool stamped into the binary.
func appVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
