package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/iostreams"
)

// TestOptions are `quickscale test`'s flags and dependencies.
type TestOptions struct {
	IO      *iostreams.IOStreams
	Project func() (Project, error)
	Docker  func() (docker.Engine, error)

	E2E     bool
	E2EOnly bool
	// GoTestArgs go to every `go test` run, after the packages (-run, -v...).
	GoTestArgs []string
}

// NewCmdTest builds `quickscale test`.
func NewCmdTest(f *Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{IO: f.IOStreams, Project: f.Project, Docker: f.Docker}
	cmd := &cobra.Command{
		Use:   "test [-- go test flags]",
		Short: "Run the project's tests, and its end-to-end suite against the running app",
		Long: `Run the project's own tests on this machine with ` + "`go test ./...`" + ` (Go ` + appcontract.GoToolchain + `).
The postgres preset's tests use TEST_DATABASE_URL when set, or start a
throw-away PostgreSQL from the installed server binaries.

With --e2e, the project's end-to-end suite (` + "`go test -tags e2e ./e2e`" + `) then runs
against the stack started by ` + "`quickscale up`" + `, through E2E_BASE_URL.

quickscale exits with the tests' own exit status. Flags after -- go to every
go test run.`,
		Example: `  $ quickscale test
  $ quickscale test --e2e
  $ quickscale test -- -run TestContact -v`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				if dash > 0 {
					return FlagErrorf("unexpected arguments %q before --; go test flags go after --", args[:dash])
				}
				opts.GoTestArgs = args[dash:]
			} else if len(args) > 0 {
				return FlagErrorf("unexpected arguments %q; go test flags go after --, as in: quickscale test -- -run TestX", args)
			}
			if opts.E2EOnly {
				opts.E2E = true
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return testRun(cmd.Context(), opts)
		},
	}
	cmd.Annotations = map[string]string{annotationDocker: "true"}
	cmd.Flags().BoolVar(&opts.E2E, "e2e", false, "Also run the end-to-end suite against the running app")
	cmd.Flags().BoolVar(&opts.E2EOnly, "e2e-only", false, "Run only the end-to-end suite")
	return cmd
}

// testResult is one suite's outcome.
type testResult struct {
	name     string
	code     int
	duration time.Duration
}

func testRun(ctx context.Context, opts *TestOptions) error {
	p, err := opts.Project()
	if err != nil {
		return err
	}
	var baseURL string
	if opts.E2E {
		// Find the app before spending minutes on unit tests.
		e, err := opts.Docker()
		if err != nil {
			return err
		}
		app, running, err := runningApp(ctx, e, p.stack(nil))
		if err != nil {
			return err
		}
		u, published := runningAppURL(app)
		if !running || !published {
			return fmt.Errorf("the end-to-end suite needs the app running and %s is not; start it with `quickscale up`", p.Marker.Name)
		}
		baseURL = u
	}

	var results []testResult
	if !opts.E2EOnly {
		r, err := goTest(ctx, opts.IO, p.Root, "unit tests", nil, append([]string{"test", "./..."}, opts.GoTestArgs...))
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if opts.E2E && (len(results) == 0 || results[0].code == 0) {
		fmt.Fprintf(opts.IO.ErrOut, "end-to-end suite against %s\n", baseURL)
		r, err := goTest(ctx, opts.IO, p.Root, "end-to-end", []string{"E2E_BASE_URL=" + baseURL},
			append([]string{"test", "-tags", "e2e", "-count=1", "./e2e"}, opts.GoTestArgs...))
		if err != nil {
			return err
		}
		results = append(results, r)
	}

	cs := opts.IO.ErrColorScheme()
	code := 0
	for _, r := range results {
		status := cs.SuccessIcon() + " passed"
		if r.code != 0 {
			status = cs.FailureIcon() + " failed"
			code = r.code
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s: %s in %s\n", r.name, status, r.duration.Round(100*time.Millisecond))
	}
	if opts.E2E && len(results) == 1 && !opts.E2EOnly {
		fmt.Fprintln(opts.IO.ErrOut, "end-to-end: not run, because the unit tests failed")
	}
	if code != 0 {
		return &ExitStatusError{Code: code}
	}
	return nil
}

// goTest runs the go command in the project with the pinned toolchain,
// its output passed straight through.
func goTest(ctx context.Context, ios *iostreams.IOStreams, root, name string, env, args []string) (testResult, error) {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "GOTOOLCHAIN="+appcontract.GoToolchain), env...)
	cmd.Stdout = ios.Out
	cmd.Stderr = ios.ErrOut
	err := cmd.Run()
	res := testResult{name: name, duration: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, ctx.Err()
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("run go test: %w; install Go and check with `quickscale check`", err)
	}
	return res, nil
}
