package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/generator"
	"github.com/quickscale/quickscale/internal/config"
	"github.com/quickscale/quickscale/internal/prompt"
)

func TestExitCodeFor(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ExitCode
	}{
		{"success", nil, ExitOK},
		{"plain failure", errors.New("boom"), ExitError},
		{"silent failure", ErrSilent, ExitError},
		{"flag error", FlagErrorf("bad flag"), ExitUsage},
		{"wrapped flag error", fmt.Errorf("parse: %w", FlagErrorf("bad flag")), ExitUsage},
		{"setting error", &SettingError{err: errors.New("bad file")}, ExitUsage},
		{"generator input error", &generator.InputError{Field: "db", Problem: "p", Fix: "f"}, ExitUsage},
		{"wrapped generator input error", fmt.Errorf("write project: %w", &generator.InputError{Field: "target"}), ExitUsage},
		{"cancel error", &CancelError{}, ExitCancel},
		{"prompt aborted", fmt.Errorf("ask: %w", prompt.ErrAborted), ExitCancel},
		{"context cancelled", fmt.Errorf("write project: %w", context.Canceled), ExitCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, exitCodeFor(tt.err), "exitCodeFor(%v)", tt.err)
		})
	}
}

func TestHandleErrorOutput(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"failure", errors.New("the engine is not running; start it with sudo systemctl start docker"), "Error: the engine is not running; start it with sudo systemctl start docker\n"},
		{"usage", FlagErrorf("bad flag"), "Error: bad flag\nRun 'quickscale --help' for usage.\n"},
		{"input", fmt.Errorf("write project: %w", &generator.InputError{Problem: "directory x is not empty", Fix: "choose another"}), "Error: directory x is not empty; choose another\n"},
		{"cancel", context.Canceled, "Cancelled.\n"},
		{"cancel with a message", &CancelError{Message: "Cancelled; nothing was written."}, "Cancelled; nothing was written.\n"},
		{"silent", ErrSilent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, false)
			handleError(env.ios, &cobra.Command{Use: "quickscale"}, tt.err)
			assert.Equal(t, tt.want, env.stderr.String(), "stderr")
			assert.Empty(t, env.stdout.String(), "stdout")
		})
	}
}

func TestUnknownCommandsAndFlags(t *testing.T) {
	tests := []struct {
		cmdline string
		want    []string
	}{
		{"--bogus", []string{"unknown flag: --bogus", "Run 'quickscale --help'"}},
		{"ini", []string{`unknown command "ini"`, "did you mean init?"}},
		{"frobnicate", []string{`unknown command "frobnicate"`, "Run 'quickscale --help'"}},
		{"version --bogus", []string{"unknown flag: --bogus", "Run 'quickscale version --help'"}},
		{"version extra", []string{"takes no arguments"}},
		{"completion", []string{"name one shell: bash, zsh, fish, powershell"}},
		{"completion tcsh", []string{"name one shell"}},
		{"help bogus", []string{`no help topic "bogus"`}},
		{"help init extra", []string{`no help topic "init extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.cmdline, func(t *testing.T) {
			isolate(t)
			env := newTestEnv(t, false)
			require.Equal(t, ExitUsage, env.run(context.Background(), tt.cmdline), "stderr:\n%s", env.stderr)
			for _, want := range tt.want {
				assert.Contains(t, env.stderr.String(), want, "stderr")
			}
		})
	}
}

func TestVersion(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	require.Equal(t, ExitOK, env.run(context.Background(), "version"), "stderr:\n%s", env.stderr)
	want := "quickscale v0.0.0-test\ncommit: 0123456789ab\nbuilt with: go1.27.3 linux/amd64\n"
	assert.Equal(t, want, env.stdout.String(), "version printed")
	flagEnv := newTestEnv(t, false)
	require.Equal(t, ExitOK, flagEnv.run(context.Background(), "--version"), "--version: exit code")
	assert.Equal(t, want, flagEnv.stdout.String(), "--version printed other than version")
}

// version and completion read no settings: they work whatever the config
// file holds, and do not even open it.
func TestCommandsWithoutSettingsSkipTheConfig(t *testing.T) {
	for _, cmdline := range []string{"version", "completion bash"} {
		t.Run(cmdline, func(t *testing.T) {
			isolate(t)
			env := newTestEnv(t, false)
			env.f.Config = func() (*config.Config, error) {
				assert.Fail(t, "the config was loaded")
				return nil, errors.New("config loaded")
			}
			require.Equal(t, ExitOK, env.run(context.Background(), cmdline), "stderr:\n%s", env.stderr)
		})
	}
}

// help must work with a broken config file, to help fix it.
func TestHelpWithBrokenConfig(t *testing.T) {
	configFile, _ := isolate(t)
	writeFile(t, configFile, "db: [\n")
	env := newTestEnv(t, false)
	require.Equal(t, ExitOK, env.run(context.Background(), "init --help"), "stderr:\n%s", env.stderr)
}

func TestVersionText(t *testing.T) {
	modified := testBuild
	modified.Modified = true
	assert.Contains(t, versionText(modified), "commit: 0123456789ab (with uncommitted changes)")
	testBuildNoCommit := testBuild
	testBuildNoCommit.Commit = ""
	assert.Contains(t, versionText(testBuildNoCommit), "commit: unknown")
}

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "__start_quickscale",
		"zsh":        "#compdef quickscale",
		"fish":       "complete -c quickscale",
		"powershell": "Register-ArgumentCompleter",
	} {
		t.Run(shell, func(t *testing.T) {
			isolate(t)
			env := newTestEnv(t, false)
			require.Equal(t, ExitOK, env.run(context.Background(), "completion "+shell), "stderr:\n%s", env.stderr)
			assert.Contains(t, env.stdout.String(), marker, "the %s script", shell)
		})
	}
}

// The completion script asks quickscale itself for candidates; --db must
// offer exactly the presets.
func TestCompletionOfDB(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	code := run(context.Background(), env.f, []string{cobra.ShellCompRequestCmd, "init", "my-app", "--db", ""})
	require.Equal(t, ExitOK, code, "stderr:\n%s", env.stderr)
	lines := strings.Split(strings.TrimSpace(env.stdout.String()), "\n")
	assert.Equal(t, generator.DBs, lines[:len(lines)-1], "completions")
}

func TestHelpCommand(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	require.Equal(t, ExitOK, env.run(context.Background(), "help init"), "stderr:\n%s", env.stderr)
	assert.True(t, strings.HasPrefix(env.stdout.String(), "Create a new Go SaaS project"), "help init printed %q", env.stdout)
}

func TestRootWithoutArgumentsShowsHelp(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	require.Equal(t, ExitOK, env.run(context.Background(), ""))
	for _, want := range []string{"Exit codes:", "QUICKSCALE_DB", "QUICKSCALE_CONFIG", "NO_COLOR", "init"} {
		assert.Contains(t, env.stdout.String(), want, "help")
	}
	for _, key := range config.Keys {
		assert.Contains(t, env.stdout.String(), key, "help does not list the setting")
		assert.Contains(t, env.stdout.String(), config.EnvVar(key), "help does not list the setting's variable")
	}
	help := strings.Join(strings.Fields(env.stdout.String()), " ")
	for _, c := range exitCodes {
		assert.Contains(t, help, fmt.Sprintf("%d %s", c.Code, c.Meaning), "help does not list exit code %d", c.Code)
	}
	root := NewCmdRoot(env.f)
	for _, line := range strings.Split(root.Long+"\n"+root.Example, "\n") {
		assert.LessOrEqual(t, len(line), 80, "help line longer than 80 columns: %q", line)
	}
}

// Every command has a long help and examples, and every example runs: the
// command line parses, and for init the name, module and database it would
// use pass the generator's validation.
func TestHelpExamplesAreValid(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, true)
	var walk func(*cobra.Command)
	var examples []string
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.Name(), "__") {
			return
		}
		assert.NotEmpty(t, c.Long, "%q lacks a long help", c.CommandPath())
		assert.NotEmpty(t, c.Example, "%q lacks examples", c.CommandPath())
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if cmdline, ok := strings.CutPrefix(line, "$ quickscale"); ok {
				// Drop shell redirections: they are the shell's business.
				cmdline, _, _ = strings.Cut(cmdline, ">")
				cmdline, _, _ = strings.Cut(cmdline, "|")
				examples = append(examples, strings.TrimSpace(cmdline))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(env.f))
	require.GreaterOrEqual(t, len(examples), 5, "found only these examples: %q", examples)
	for _, example := range examples {
		t.Run(example, func(t *testing.T) {
			env := newTestEnv(t, true)
			var got *InitOptions
			root := rootWithInit(env.f, func(_ context.Context, opts *InitOptions) error {
				got = opts
				return nil
			})
			args := strings.Fields(example)
			root.InitDefaultVersionFlag() // cobra adds --version only when executing
			// Every example must parse: its command exists, its flags and
			// arguments are accepted. Only init is run (with runF): other
			// commands would need a Docker Engine.
			cmd, rest, err := root.Find(args)
			require.NoError(t, err, "find the command")
			require.NoError(t, cmd.ParseFlags(rest), "parse flags")
			if cmd.Args != nil {
				require.NoError(t, cmd.ValidateArgs(cmd.Flags().Args()), "arguments")
			}
			if cmd.Name() != "init" {
				return
			}
			root.SetArgs(args)
			cmd, err = root.ExecuteC()
			require.Equal(t, ExitOK, handleError(env.ios, cmd, err), "stderr:\n%s", env.stderr)
			require.NotNil(t, got, "the run function was not called")
			if got.Name != "" {
				assert.NoError(t, generator.ValidateName(got.Name), "example name")
				module := got.Module
				if module == "" {
					module = generator.DefaultModule(got.ModulePrefix, got.Name)
				}
				assert.NoError(t, generator.ValidateModule(module), "example module")
			}
			assert.NoError(t, generator.ValidateDB(got.DB), "example database")
		})
	}
}
