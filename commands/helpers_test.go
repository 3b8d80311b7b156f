package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/buildinfo"
	"github.com/quickscale/quickscale/internal/config"
	"github.com/quickscale/quickscale/internal/iostreams"
	"github.com/quickscale/quickscale/internal/prompt"
	"github.com/quickscale/quickscale/internal/prompt/prompttest"
)

// testBuild is the build every test factory reports.
var testBuild = buildinfo.Info{Version: "v0.0.0-test", Commit: "0123456789abcdef0123", GoVersion: "go1.27.3", Platform: "linux/amd64"}

// isolateWith isolates the test, then sets env and, unless it is empty,
// writes file as the user's config file.
func isolateWith(t *testing.T, env map[string]string, file string) {
	t.Helper()
	configFile, _ := isolate(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	if file != "" {
		writeFile(t, configFile, file)
	}
}

// isolate gives the test an empty home, config directory and git
// configuration, and clears every variable quickscale or git reads, so the
// developer's own settings never leak into a test. It returns the path of
// the default config file and of the global git config file.
func isolate(t *testing.T) (configFile, gitConfig string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	// Commands such as check run the go command, whose telemetry writes
	// under the config directory, partly from a child that outlives it and
	// would race the removal of this temporary home. Off, it writes nothing.
	writeFile(t, filepath.Join(home, ".config", "go", "telemetry", "mode"), "off")
	t.Setenv(config.EnvConfigFile, "")
	for _, key := range config.Keys {
		t.Setenv(config.EnvVar(key), "")
	}
	t.Setenv("NO_COLOR", "")
	gitConfig = filepath.Join(home, ".gitconfig")
	t.Setenv("GIT_CONFIG_GLOBAL", gitConfig)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, v := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} {
		t.Setenv(v, "") // restores the original value after the test
		os.Unsetenv(v)  // git treats an empty GIT_DIR as a path, not as unset
	}
	return filepath.Join(home, ".config", "quickscale", "config.yaml"), gitConfig
}

type testEnv struct {
	f        *Factory
	ios      *iostreams.IOStreams
	stdout   *bytes.Buffer
	stderr   *bytes.Buffer
	prompter *prompttest.Fake
	prompted bool
}

// newTestEnv returns a factory over buffers, working in a directory of
// its own outside any project. tty sets stdin, stdout and stderr to
// terminals or not.
func newTestEnv(t *testing.T, tty bool) *testEnv {
	t.Helper()
	ios, _, stdout, stderr := iostreams.Test()
	ios.SetStdinTTY(tty)
	ios.SetStdoutTTY(tty)
	ios.SetStderrTTY(tty)
	env := &testEnv{ios: ios, stdout: stdout, stderr: stderr, prompter: prompttest.New()}
	env.f = &Factory{
		IOStreams: ios,
		Build:     testBuild,
		Prompter: func() prompt.Prompter {
			env.prompted = true
			return env.prompter
		},
		Config: sync.OnceValues(config.Load),
	}
	env.in(t.TempDir())
	env.f.Project = env.f.findProject
	return env
}

// in makes dir the working directory the commands see.
func (e *testEnv) in(dir string) *testEnv {
	e.f.WorkingDir = func() (string, error) { return dir, nil }
	return e
}

// run executes a command line (split on spaces) as Main would.
func (e *testEnv) run(ctx context.Context, cmdline string) ExitCode {
	return run(ctx, e.f, strings.Fields(cmdline))
}

// rootWithInit is the real root command with init's run function replaced.
func rootWithInit(f *Factory, runF func(context.Context, *InitOptions) error) *cobra.Command {
	root := NewCmdRoot(f)
	for _, c := range root.Commands() {
		if c.Name() == "init" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(NewCmdInit(f, runF))
	return root
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// plain removes colour from output.
func plain(s string) string { return ansi.ReplaceAllString(s, "") }

// entries lists a directory's names, for asserting that nothing was left
// behind (including hidden staging directories).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, len(des))
	for i, de := range des {
		names[i] = de.Name()
	}
	return names
}
