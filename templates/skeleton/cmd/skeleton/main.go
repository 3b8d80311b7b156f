// The application's one binary: it serves the site, migrates its database,
// checks its own health and runs the management commands.
package main

import (
	"context"
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

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
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

// environmentHelp closes the binary's own help.
const environmentHelp = `Configuration comes from the environment: APP_ENV, HTTP_ADDR, BASE_URL,
DATABASE_URL, SECRET_KEY, LOG_LEVEL, LOG_FORMAT, TRUST_PROXY_HEADERS,
EMAIL_BACKEND, EMAIL_FROM, EMAIL_FILE_DIR, SMTP_HOST, SMTP_PORT,
SMTP_USERNAME, SMTP_PASSWORD, SMTP_TLS, STRIPE_ENABLED, STRIPE_SECRET_KEY,
STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_CURRENCY, STRIPE_FAKE,
SOURCE_DIR.
See README.md for what each one does.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", appName, err)
	}
	os.Exit(exitCode(err))
}

// run is the whole program. It takes its environment as arguments so tests
// can run it in-process with their own, and returns when ctx is cancelled
// (SIGINT or SIGTERM) or the command is done. main turns what it returns
// into the exit status (exitCode), the only place that does.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	inv := invocation{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, clock: clock.System{}}
	args = args[1:]
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-v") {
		args[0] = "version"
	}
	return commands().execute(ctx, appName, args, inv)
}

// commands is the binary's command tree.
func commands() *command {
	return &command{
		name:    appName,
		summary: "The " + appName + " application: it serves the site, migrates its database and runs its management commands.",
		detail:  environmentHelp,
		sub: []*command{
			serveCommand(),
			migrateCommand(),
			healthcheckCommand(),
			createAdminCommand(),
			seedDemoCommand(),
			creditsCommand(),
			apikeyCommand(),
			stripeCommand(),
			{name: "version", summary: "Print the version.", flags: noFlags(func(_ context.Context, inv invocation) error {
				fmt.Fprintf(inv.stdout, "%s %s (quickscale %s, template %s)\n", appName, appVersion(), quickscaleVersion, templateVersion)
				return nil
			})},
		},
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
