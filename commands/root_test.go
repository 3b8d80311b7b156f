package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

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
			if got := exitCodeFor(tt.err); got != tt.want {
				t.Errorf("exitCodeFor(%v) = %d, want %d", tt.err, got, tt.want)
			}
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
			if got := env.stderr.String(); got != tt.want {
				t.Errorf("stderr = %q, want %q", got, tt.want)
			}
			if env.stdout.Len() != 0 {
				t.Errorf("stdout = %q", env.stdout)
			}
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
			if code := env.run(context.Background(), tt.cmdline); code != ExitUsage {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitUsage, env.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(env.stderr.String(), want) {
					t.Errorf("stderr %q does not contain %q", env.stderr, want)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	if code := env.run(context.Background(), "version"); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	want := "quickscale v0.0.0-test\ncommit: 0123456789ab\nbuilt with: go1.27.3 linux/amd64\n"
	if got := env.stdout.String(); got != want {
		t.Errorf("version printed %q, want %q", got, want)
	}
	flagEnv := newTestEnv(t, false)
	if code := flagEnv.run(context.Background(), "--version"); code != ExitOK {
		t.Fatalf("--version: exit code %d", code)
	}
	if got := flagEnv.stdout.String(); got != want {
		t.Errorf("--version printed %q, want the same as version: %q", got, want)
	}
}

// version and completion read no settings: they work whatever the config
// file holds, and do not even open it.
func TestCommandsWithoutSettingsSkipTheConfig(t *testing.T) {
	for _, cmdline := range []string{"version", "completion bash"} {
		t.Run(cmdline, func(t *testing.T) {
			isolate(t)
			env := newTestEnv(t, false)
			env.f.Config = func() (*config.Config, error) {
				t.Error("the config was loaded")
				return nil, errors.New("config loaded")
			}
			if code := env.run(context.Background(), cmdline); code != ExitOK {
				t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
			}
		})
	}
}

// help must work with a broken config file, to help fix it.
func TestHelpWithBrokenConfig(t *testing.T) {
	configFile, _ := isolate(t)
	writeFile(t, configFile, "db: [\n")
	env := newTestEnv(t, false)
	if code := env.run(context.Background(), "init --help"); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
}

func TestVersionText(t *testing.T) {
	modified := testBuild
	modified.Modified = true
	got := versionText(modified)
	if !strings.Contains(got, "commit: 0123456789ab (with uncommitted changes)") {
		t.Errorf("versionText = %q", got)
	}
	testBuildNoCommit := testBuild
	testBuildNoCommit.Commit = ""
	if got := versionText(testBuildNoCommit); !strings.Contains(got, "commit: unknown") {
		t.Errorf("versionText = %q", got)
	}
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
			if code := env.run(context.Background(), "completion "+shell); code != ExitOK {
				t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
			}
			if !strings.Contains(env.stdout.String(), marker) {
				t.Errorf("the %s script lacks %q", shell, marker)
			}
		})
	}
}

// The completion script asks quickscale itself for candidates; --db must
// offer exactly the presets.
func TestCompletionOfDB(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	if code := run(context.Background(), env.f, []string{cobra.ShellCompRequestCmd, "init", "my-app", "--db", ""}); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	lines := strings.Split(strings.TrimSpace(env.stdout.String()), "\n")
	if got, want := strings.Join(lines[:len(lines)-1], ","), strings.Join(generator.DBs, ","); got != want {
		t.Errorf("completions %q, want %q", got, want)
	}
}

func TestHelpCommand(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	if code := env.run(context.Background(), "help init"); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	if !strings.HasPrefix(env.stdout.String(), "Create a new Go SaaS project") {
		t.Errorf("help init printed %q", env.stdout)
	}
}

func TestRootWithoutArgumentsShowsHelp(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	if code := env.run(context.Background(), ""); code != ExitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"Exit codes:", "QUICKSCALE_DB", "QUICKSCALE_CONFIG", "NO_COLOR", "init"} {
		if !strings.Contains(env.stdout.String(), want) {
			t.Errorf("help does not mention %q", want)
		}
	}
	for _, key := range config.Keys {
		if !strings.Contains(env.stdout.String(), key) || !strings.Contains(env.stdout.String(), config.EnvVar(key)) {
			t.Errorf("help does not list the setting %s and its variable", key)
		}
	}
	help := strings.Join(strings.Fields(env.stdout.String()), " ")
	for _, c := range exitCodes {
		if !strings.Contains(help, fmt.Sprintf("%d %s", c.Code, c.Meaning)) {
			t.Errorf("help does not list exit code %d", c.Code)
		}
	}
	root := NewCmdRoot(env.f)
	for _, line := range strings.Split(root.Long+"\n"+root.Example, "\n") {
		if len(line) > 80 {
			t.Errorf("help line longer than 80 columns: %q", line)
		}
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
		if c.Long == "" || c.Example == "" {
			t.Errorf("%q lacks a long help or examples", c.CommandPath())
		}
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
	if len(examples) < 5 {
		t.Fatalf("found only %d examples: %q", len(examples), examples)
	}
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
			if err != nil {
				t.Fatalf("find the command: %v", err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("parse flags: %v", err)
			}
			if cmd.Args != nil {
				if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
					t.Fatalf("arguments: %v", err)
				}
			}
			if cmd.Name() != "init" {
				return
			}
			root.SetArgs(args)
			cmd, err = root.ExecuteC()
			if code := handleError(env.ios, cmd, err); code != ExitOK || got == nil {
				t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
			}
			if got.Name != "" {
				if err := generator.ValidateName(got.Name); err != nil {
					t.Errorf("example name: %v", err)
				}
				module := got.Module
				if module == "" {
					module = generator.DefaultModule(got.ModulePrefix, got.Name)
				}
				if err := generator.ValidateModule(module); err != nil {
					t.Errorf("example module: %v", err)
				}
			}
			if err := generator.ValidateDB(got.DB); err != nil {
				t.Errorf("example database: %v", err)
			}
		})
	}
}
