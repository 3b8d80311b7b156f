// Package e2e proves quickscale from the outside: it builds the real binary
// once, generates projects with it and drives the real tools (the go
// command, staticcheck, govulncheck, the generated app, the Docker Engine)
// against them.
//
// The helpers in this file are shared by every e2e test:
//
//   - runQuickscale runs the binary built by TestMain; quickscaleEnv is its
//     environment, for tests that start the binary themselves.
//   - initProject generates a project for a database preset.
//   - runCmd runs any other command and fails the test when it fails.
//   - toolPath and vulnDB locate what `make tools` installed.
//
// Tools and the vulnerability database are required, never optional: a
// missing one fails the test with the command that installs it.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/appcontract"
)

var (
	// moduleRoot is quickscale's module root (where go.mod is).
	moduleRoot string
	// quickscaleBin is the binary TestMain built from moduleRoot.
	quickscaleBin string
	// configHome is an empty XDG_CONFIG_HOME for quickscale, so no user
	// configuration changes what the tests see.
	configHome string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests is TestMain's body, so deferred cleanup runs before os.Exit.
func runTests(m *testing.M) int {
	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = root

	binDir, err := os.MkdirTemp("", "quickscale-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: make a directory for the quickscale binary:", err)
		return 1
	}
	defer os.RemoveAll(binDir)

	configHome = filepath.Join(binDir, "config")
	// Go's telemetry writes under the configuration directory from child
	// processes that outlive the go command; switched off here, no go
	// command that quickscale or a script runs leaves files behind.
	telemetry := exec.Command("go", "telemetry", "off")
	telemetry.Env = goEnv("XDG_CONFIG_HOME=" + configHome)
	if out, err := telemetry.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: switch off Go telemetry in the test configuration directory: %v\n%s", err, out)
		return 1
	}

	// quickscale hands its Docker commands to quickscale-docker beside it.
	quickscaleBin = filepath.Join(binDir, "quickscale")
	build := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/quickscale", "./cmd/quickscale-docker")
	build.Dir = moduleRoot
	build.Env = goEnv()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build quickscale (did `make assets` run?): %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// findModuleRoot asks the go command for the go.mod that holds this package,
// which works from any working directory `go test` chooses.
func findModuleRoot() (string, error) {
	cmd := exec.Command("go", "env", "GOMOD")
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate quickscale's go.mod with `go env GOMOD`: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("the e2e tests must run inside quickscale's module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// goEnv is this process's environment with the toolchain pinned. The module
// cache stays the default one, shared with the developer's other builds.
func goEnv(extra ...string) []string {
	return append(append(os.Environ(), "GOTOOLCHAIN="+appcontract.GoToolchain), extra...)
}

// runQuickscale runs the quickscale binary in dir with stdin (nil means
// /dev/null: no terminal) and returns what it printed and its exit code. It
// sees no user configuration (see quickscaleEnv).
func runQuickscale(t testing.TB, dir string, stdin io.Reader, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, quickscaleBin, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = quickscaleEnv()
	cmd.WaitDelay = 10 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		exitCode = exitErr.ExitCode()
	default:
		require.NoError(t, err, "quickscale %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), &out, &errOut)
	}
	return out.String(), errOut.String(), exitCode
}

// quickscaleEnv is the environment quickscale runs with in these tests: the
// pinned toolchain, no QUICKSCALE_* variables, an empty configuration
// directory and no colour.
func quickscaleEnv() []string {
	return append(withoutQuickscaleVars(goEnv()), "XDG_CONFIG_HOME="+configHome, "NO_COLOR=1")
}

func withoutQuickscaleVars(env []string) []string {
	kept := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "QUICKSCALE_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// initProject generates a project named app-<preset> with the given database
// preset, non-interactively, into a fresh temporary directory, and returns
// the project's directory.
func initProject(t testing.TB, preset string) string {
	t.Helper()
	parent := t.TempDir()
	name := "app-" + preset
	stdout, stderr, code := runQuickscale(t, parent, nil, "init", name, "--no-input", "--db", preset, "--dir", parent)
	require.Equal(t, 0, code, "quickscale init %s --db %s exited %d\nstdout:\n%s\nstderr:\n%s", name, preset, code, stdout, stderr)
	dir := filepath.Join(parent, name)
	require.FileExists(t, filepath.Join(dir, "quickscale.yaml"), "quickscale init did not write the project marker\nstdout:\n%s", stdout)
	return dir
}

// runCmd runs name with args in dir, with the pinned toolchain and extra
// environment, and returns its combined output. A non-zero exit fails the
// test with that output.
func runCmd(t testing.TB, dir string, extraEnv []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = goEnv(extraEnv...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s (in %s)\n%s", name, strings.Join(args, " "), dir, out)
	return string(out)
}

// toolPath returns .tools/bin/<name>, installed by `make tools`.
func toolPath(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(moduleRoot, ".tools", "bin", name)
	require.FileExists(t, path, "%s is not installed: run make tools", name)
	return path
}

// vulnDB returns the file:// URL of the offline Go vulnerability database
// that `make tools` indexed, for govulncheck -db.
func vulnDB(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(moduleRoot, ".tools", "vulndb")
	require.FileExists(t, filepath.Join(dir, "index", "db.json"), "the offline vulnerability database is missing at %s: run make tools", dir)
	return "file://" + dir
}
