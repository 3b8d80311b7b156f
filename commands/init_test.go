package commands

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/generator"
	"github.com/quickscale/quickscale/internal/project"
)

func TestNewCmdInitParsing(t *testing.T) {
	tests := []struct {
		name     string
		cmdline  string
		tty      bool
		env      map[string]string
		file     string // config file content
		want     InitOptions
		wantCode ExitCode
		wantErr  string
	}{
		{
			name:    "name only, no terminal",
			cmdline: "init my-app",
			want:    InitOptions{Name: "my-app", ModulePrefix: "example.com", DB: "sqlite", Dir: "."},
		},
		{
			name:    "every flag",
			cmdline: "init shop --module github.com/you/shop --db postgres --dir /srv --git --dry-run",
			want:    InitOptions{Name: "shop", Module: "github.com/you/shop", ModulePrefix: "example.com", DB: "postgres", DBGiven: true, Dir: "/srv", Git: true, DryRun: true},
		},
		{
			name:    "module prefix",
			cmdline: "init my-app --module-prefix github.com/me",
			want:    InitOptions{Name: "my-app", ModulePrefix: "github.com/me", DB: "sqlite", Dir: "."},
		},
		{
			name:    "terminal without a name asks",
			cmdline: "init",
			tty:     true,
			want:    InitOptions{ModulePrefix: "example.com", DB: "sqlite", Dir: ".", Interactive: true},
		},
		{
			name:    "--no-input on a terminal",
			cmdline: "init my-app --no-input",
			tty:     true,
			want:    InitOptions{Name: "my-app", ModulePrefix: "example.com", DB: "sqlite", Dir: "."},
		},
		{
			name:    "settings from the environment",
			cmdline: "init my-app",
			env:     map[string]string{"QUICKSCALE_DB": "postgres", "QUICKSCALE_GIT": "true", "QUICKSCALE_MODULE_PREFIX": "git.example.org/team"},
			want:    InitOptions{Name: "my-app", ModulePrefix: "git.example.org/team", DB: "postgres", Dir: ".", Git: true},
		},
		{
			name:    "settings from the config file",
			cmdline: "init my-app",
			file:    "db: postgres\ndir: /projects\n",
			want:    InitOptions{Name: "my-app", ModulePrefix: "example.com", DB: "postgres", Dir: "/projects"},
		},
		{
			name:    "flags over environment over file",
			cmdline: "init my-app --db sqlite",
			env:     map[string]string{"QUICKSCALE_DB": "postgres", "QUICKSCALE_DIR": "/env"},
			file:    "db: postgres\ndir: /file\n",
			want:    InitOptions{Name: "my-app", ModulePrefix: "example.com", DB: "sqlite", DBGiven: true, Dir: "/env"},
		},
		{
			name:     "no name and no terminal",
			cmdline:  "init",
			wantCode: ExitUsage,
			wantErr:  "the project name is missing and there is no terminal to ask for it",
		},
		{
			name:     "no name with --no-input",
			cmdline:  "init --no-input",
			tty:      true,
			wantCode: ExitUsage,
			wantErr:  "--no-input forbids asking",
		},
		{
			name:     "two names",
			cmdline:  "init a b",
			wantCode: ExitUsage,
			wantErr:  "init takes one project name, but got 2 arguments",
		},
		{
			name:     "flag without value",
			cmdline:  "init my-app --db",
			wantCode: ExitUsage,
			wantErr:  "flag needs an argument: --db",
		},
		{
			name:     "unknown flag",
			cmdline:  "init my-app --database postgres",
			wantCode: ExitUsage,
			wantErr:  "unknown flag: --database",
		},
		{
			name:     "broken config file",
			cmdline:  "init my-app",
			file:     "db: [\n",
			wantCode: ExitUsage,
			wantErr:  "is not valid YAML",
		},
		{
			name:     "bad boolean in the environment",
			cmdline:  "init my-app",
			env:      map[string]string{"QUICKSCALE_GIT": "yes"},
			wantCode: ExitUsage,
			wantErr:  "QUICKSCALE_GIT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateWith(t, tt.env, tt.file)
			env := newTestEnv(t, tt.tty)
			var got *InitOptions
			root := rootWithInit(env.f, func(_ context.Context, opts *InitOptions) error {
				got = opts
				return nil
			})
			root.SetArgs(strings.Fields(tt.cmdline))
			cmd, err := root.ExecuteC()
			require.Equal(t, tt.wantCode, handleError(env.ios, cmd, err), "stderr:\n%s", env.stderr)
			if tt.wantErr != "" {
				stderr := plain(env.stderr.String())
				assert.True(t, strings.HasPrefix(stderr, "Error: "), "stderr = %q, want an error", stderr)
				assert.Contains(t, stderr, tt.wantErr)
				return
			}
			require.NotNil(t, got, "the run function was not called")
			assert.Equal(t, parsedOf(&tt.want), parsedOf(got), "options")
			assert.False(t, env.prompted, "parsing the command line started a prompt")
		})
	}
}

// parsed is the part of InitOptions that the command line decides.
type parsed struct {
	Name, Module, ModulePrefix, DB, Dir string
	DryRun, Git, Interactive, DBGiven   bool
}

func parsedOf(o *InitOptions) parsed {
	return parsed{o.Name, o.Module, o.ModulePrefix, o.DB, o.Dir, o.DryRun, o.Git, o.Interactive, o.DBGiven}
}

// marker reads the project marker of a generated project.
func marker(t *testing.T, dir string) project.Marker {
	t.Helper()
	m, err := project.Load(dir)
	require.NoError(t, err, "load the marker of %s", dir)
	return m
}

func TestInitWithoutTerminalUsesDefaults(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, false).in(dir)

	require.Equal(t, ExitOK, env.run(context.Background(), "init my-app"), "stderr:\n%s", env.stderr)
	assert.False(t, env.prompted, "init prompted without a terminal")
	m := marker(t, filepath.Join(dir, "my-app"))
	assert.Equal(t, "my-app", m.Name, "marker's name")
	assert.Equal(t, "example.com/my-app", m.Module, "marker's module")
	assert.Equal(t, "sqlite", m.DB, "marker's database")
	assert.Equal(t, testBuild.Version, m.QuickscaleVersion, "marker's quickscale version")
	out := env.stdout.String()
	for _, want := range []string{"Created my-app in " + filepath.Join(dir, "my-app"), "cd my-app", "make run", "quickscale up", "http://localhost:8000"} {
		assert.Contains(t, out, want, "stdout")
	}
	assert.NotContains(t, out, "\x1b[", "stdout has colour although it is not a terminal")
	assert.NotContains(t, out, "without questions", "an equivalent command was printed although nothing was asked")
}

func TestInitWizard(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, true).in(dir)
	env.prompter.
		ExpectInput("Project name", "Bad_Name", "shop").
		ExpectInput("Go module path", "github.com/you/shop").
		ExpectSelect("Database", "postgres")

	require.Equal(t, ExitOK, env.run(context.Background(), "init"), "stderr:\n%s", env.stderr)
	assert.Empty(t, env.prompter.Remaining(), "questions never asked")
	asked := env.prompter.Asked
	require.Len(t, asked, 3, "questions asked: %+v", asked)
	if assert.Len(t, asked[0].Rejected, 1, "the name prompt did not validate with the generator's rules") {
		assert.Contains(t, asked[0].Rejected[0], `"Bad_Name"`, "the name prompt's rejection")
	}
	assert.Equal(t, "example.com/shop", asked[1].Default, "module default")
	assert.Equal(t, "sqlite", asked[2].Default, "database default")
	assert.Equal(t, generator.DBs, asked[2].Options, "database options")
	m := marker(t, filepath.Join(dir, "shop"))
	assert.Equal(t, "github.com/you/shop", m.Module, "marker's module")
	assert.Equal(t, "postgres", m.DB, "marker's database")
	want := "quickscale init shop --module github.com/you/shop --db postgres --no-input"
	assert.Contains(t, plain(env.stdout.String()), want, "stdout does not show the equivalent command")
}

// The printed equivalent command must really reproduce the project.
func TestInitEquivalentCommandReproduces(t *testing.T) {
	isolate(t)
	first, second := t.TempDir(), t.TempDir()
	env := newTestEnv(t, true).in(first)
	env.prompter.
		ExpectInput("Project name", "my-app").
		ExpectInput("Go module path", "").
		ExpectSelect("Database", "postgres")
	require.Equal(t, ExitOK, env.run(context.Background(), "init --dir "+first), "stderr:\n%s", env.stderr)
	var equivalent string
	for _, line := range strings.Split(plain(env.stdout.String()), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "quickscale init ") {
			equivalent = line
		}
	}
	require.NotEmpty(t, equivalent, "no equivalent command in:\n%s", env.stdout)
	equivalent = strings.Replace(equivalent, "--dir "+first, "--dir "+second, 1)

	again := newTestEnv(t, false)
	require.Equal(t, ExitOK, again.run(context.Background(), strings.TrimPrefix(equivalent, "quickscale ")), "%s: stderr:\n%s", equivalent, again.stderr)
	assert.Equal(t, marker(t, filepath.Join(first, "my-app")), marker(t, filepath.Join(second, "my-app")), "the equivalent command made a different project")
}

func TestInitWizardAsksOnlyWhatIsMissing(t *testing.T) {
	tests := []struct {
		cmdline string
		expect  func(*testEnv)
		asked   int
	}{
		{cmdline: "init my-app --db postgres", expect: func(e *testEnv) { e.prompter.ExpectInput("Go module path", "") }, asked: 1},
		{cmdline: "init my-app --module example.org/x", expect: func(e *testEnv) { e.prompter.ExpectSelect("Database", "sqlite") }, asked: 1},
		{cmdline: "init my-app --module example.org/x --db sqlite", expect: func(*testEnv) {}, asked: 0},
	}
	for _, tt := range tests {
		t.Run(tt.cmdline, func(t *testing.T) {
			isolate(t)
			env := newTestEnv(t, true)
			tt.expect(env)
			require.Equal(t, ExitOK, env.run(context.Background(), tt.cmdline), "stderr:\n%s", env.stderr)
			assert.Len(t, env.prompter.Asked, tt.asked, "questions asked")
			assert.Equal(t, tt.asked > 0, strings.Contains(env.stdout.String(), "without questions"), "equivalent command printed")
		})
	}
}

func TestInitWizardAbort(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, true).in(dir)
	env.prompter.ExpectInput("Project name", "my-app").ExpectAbort("Go module path")

	require.Equal(t, ExitCancel, env.run(context.Background(), "init"), "stderr:\n%s", env.stderr)
	assert.Empty(t, entries(t, dir), "an aborted wizard left files")
	assert.Contains(t, env.stderr.String(), "nothing was written")
}

func TestInitCancelledDuringWrite(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as Main's context is after Ctrl-C

	require.Equal(t, ExitCancel, env.run(ctx, "init my-app --dir "+dir), "stderr:\n%s", env.stderr)
	assert.Empty(t, entries(t, dir), "a cancelled init left files")
}

func TestInitDryRun(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, false)

	require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --db postgres --dry-run --dir "+dir), "stderr:\n%s", env.stderr)
	require.Empty(t, entries(t, dir), "--dry-run wrote files")

	files, err := generator.Render(generator.Options{Name: "my-app", Module: "example.com/my-app", DB: "postgres", QuickscaleVersion: testBuild.Version})
	require.NoError(t, err)
	sizes := map[string]int{}
	total, listed := 0, 0
	for _, f := range files {
		sizes[f.Path] = len(f.Data)
		total += len(f.Data)
	}
	lines := strings.Split(strings.TrimSpace(env.stdout.String()), "\n")
	assert.Contains(t, lines[0], filepath.Join(dir, "my-app"), "the first line does not name the target")
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		size, err := strconv.Atoi(fields[0])
		require.NoError(t, err, "line %q does not start with a size", line)
		want, ok := sizes[fields[1]]
		if !assert.True(t, ok, "listed %q, which Render does not produce", fields[1]) {
			continue
		}
		assert.Equal(t, want, size, "%s listed with the wrong size", fields[1])
		listed++
	}
	assert.Equal(t, len(files), listed, "files listed")
	wantTotal := strconv.Itoa(total) + "  bytes in " + strconv.Itoa(len(files)) + " files"
	assert.Contains(t, env.stdout.String(), wantTotal, "stdout lacks the total")
	assert.Contains(t, env.stdout.String(), "Nothing was written", "the dry run does not say that nothing was written")
}

func TestInitBadInput(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	writeFile(t, notADir, "x")
	tests := []struct {
		name    string
		cmdline string
		env     map[string]string
		file    string
		setup   func(t *testing.T, dir string)
		wantErr []string
	}{
		{name: "bad name", cmdline: "init Bad_Name", wantErr: []string{`project name "Bad_Name"`, "lowercase"}},
		{name: "reserved or short name", cmdline: "init a", wantErr: []string{`project name "a"`}},
		{name: "unknown database", cmdline: "init my-app --db mysql", wantErr: []string{`unknown database "mysql"`, "sqlite, postgres"}},
		{name: "database from the environment", cmdline: "init my-app", env: map[string]string{"QUICKSCALE_DB": "mysql"}, wantErr: []string{`"mysql"`, "QUICKSCALE_DB"}},
		{name: "database from the config file", cmdline: "init my-app", file: "db: oracle\n", wantErr: []string{`"oracle"`, "config file"}},
		{name: "bad module", cmdline: "init my-app --module Not/A/Module!", wantErr: []string{"not a valid Go module path"}},
		{name: "bad module prefix", cmdline: "init my-app --module-prefix bad_prefix", wantErr: []string{"not a valid Go module path"}},
		{name: "bad module prefix from the environment", cmdline: "init my-app", env: map[string]string{"QUICKSCALE_MODULE_PREFIX": "no dots"}, wantErr: []string{"QUICKSCALE_MODULE_PREFIX"}},
		{name: "missing parent", cmdline: "init my-app --dir /nonexistent/quickscale-test", wantErr: []string{"does not exist"}},
		{name: "parent is a file", cmdline: "init my-app --dir " + notADir, wantErr: []string{"not a directory"}},
		{
			name: "target not empty", cmdline: "init my-app",
			setup:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "my-app", "keep.txt"), "mine") },
			wantErr: []string{"already exists and is not empty"},
		},
		{
			name: "dry run into a directory that is not empty", cmdline: "init my-app --dry-run",
			setup:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "my-app", "keep.txt"), "mine") },
			wantErr: []string{"already exists and is not empty"},
		},
		{name: "dry run with a missing parent", cmdline: "init my-app --dry-run --dir /nonexistent/quickscale-test", wantErr: []string{"does not exist"}},
		{
			name: "target is a file", cmdline: "init my-app",
			setup:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "my-app"), "mine") },
			wantErr: []string{"not a directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateWith(t, tt.env, tt.file)
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := entries(t, dir)
			env := newTestEnv(t, false).in(dir)

			require.Equal(t, ExitUsage, env.run(context.Background(), tt.cmdline), "stderr:\n%s", env.stderr)
			stderr := env.stderr.String()
			assert.True(t, strings.HasPrefix(stderr, "Error: "), "stderr does not start with Error: %q", stderr)
			for _, want := range tt.wantErr {
				assert.Contains(t, stderr, want, "stderr")
			}
			assert.Equal(t, before, entries(t, dir), "the directory changed")
			assert.Empty(t, env.stdout.String(), "stdout")
		})
	}
}

func TestInitReadOnlyParent(t *testing.T) {
	isolate(t)
	parent := t.TempDir()
	if os.Geteuid() == 0 {
		// root writes into any directory whatever its mode; sysfs refuses
		// new directories even to root.
		parent = "/sys"
		probe := filepath.Join(parent, "quickscale-probe")
		if err := os.Mkdir(probe, 0o755); err == nil {
			os.Remove(probe)
			t.Skip("running as root without a read-only /sys: nothing here is unwritable")
		}
	} else {
		require.NoError(t, os.Chmod(parent, 0o555))
		t.Cleanup(func() { os.Chmod(parent, 0o755) })
	}
	env := newTestEnv(t, false)
	require.Equal(t, ExitUsage, env.run(context.Background(), "init my-app --dir "+parent), "stderr:\n%s", env.stderr)
	assert.Contains(t, env.stderr.String(), "cannot create files in "+parent)
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s:\n%s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

func TestInitGit(t *testing.T) {
	_, err := exec.LookPath("git")
	require.NoError(t, err, "git is required for these tests")
	t.Run("with an identity", func(t *testing.T) {
		_, gitConfig := isolate(t)
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n")
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --git --dir "+dir), "stderr:\n%s", env.stderr)
		project := filepath.Join(dir, "my-app")
		assert.Equal(t, "Initial commit from quickscale "+testBuild.Version+"|Test User", git(t, project, "log", "--format=%s|%an"), "git log")
		assert.Empty(t, git(t, project, "status", "--porcelain", "--ignored=no"), "files left out of the first commit")
		assert.Empty(t, git(t, project, "ls-files", ".env"), "the secrets file .env was committed")
		assert.Empty(t, env.stderr.String(), "stderr")
	})
	t.Run("from the config file", func(t *testing.T) {
		configFile, gitConfig := isolate(t)
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n")
		writeFile(t, configFile, "git: true\n")
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --dir "+dir), "stderr:\n%s", env.stderr)
		git(t, filepath.Join(dir, "my-app"), "rev-parse", "HEAD")
	})
	t.Run("without an identity", func(t *testing.T) {
		isolate(t)
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --git --dir "+dir), "stderr:\n%s", env.stderr)
		stderr := env.stderr.String()
		for _, want := range []string{"made no commit", "user.name and user.email", "git config --global user.email", "git commit -m"} {
			assert.Contains(t, stderr, want, "warning")
		}
		project := filepath.Join(dir, "my-app")
		assert.FileExists(t, filepath.Join(project, "quickscale.yaml"), "the project was not written")
		cmd := exec.Command("git", "rev-parse", "--verify", "HEAD")
		cmd.Dir = project
		assert.Error(t, cmd.Run(), "a commit was made without an identity")
	})
	t.Run("identity from the environment", func(t *testing.T) {
		isolate(t)
		for _, v := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
			t.Setenv(v, "Env User")
		}
		for _, v := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
			t.Setenv(v, "env@example.com")
		}
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --git --dir "+dir), "stderr:\n%s", env.stderr)
		assert.Equal(t, "Env User", git(t, filepath.Join(dir, "my-app"), "log", "--format=%an"), "author")
	})
	t.Run("a commit hook that refuses", func(t *testing.T) {
		_, gitConfig := isolate(t)
		hooks := t.TempDir()
		writeFile(t, filepath.Join(hooks, "pre-commit"), "#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
		require.NoError(t, os.Chmod(filepath.Join(hooks, "pre-commit"), 0o755))
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n[core]\n\thooksPath = "+hooks+"\n")
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --git --dir "+dir), "stderr:\n%s", env.stderr)
		for _, want := range []string{"git commit failed: policy: no commits today", "git add -A && git commit -m"} {
			assert.Contains(t, env.stderr.String(), want, "warning")
		}
		assert.Contains(t, env.stdout.String(), "Next steps", "next steps missing after a git warning")
	})
	t.Run("another repository in GIT_DIR", func(t *testing.T) {
		_, gitConfig := isolate(t)
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n")
		other := t.TempDir()
		git(t, other, "init", "--quiet")
		t.Setenv("GIT_DIR", filepath.Join(other, ".git")) // as inside a git hook
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --git --dir "+dir), "stderr:\n%s", env.stderr)
		os.Unsetenv("GIT_DIR")
		git(t, filepath.Join(dir, "my-app"), "rev-parse", "HEAD")
		cmd := exec.Command("git", "rev-parse", "--verify", "HEAD")
		cmd.Dir = other
		assert.Error(t, cmd.Run(), "init committed to the repository named by GIT_DIR")
	})
	t.Run("without git", func(t *testing.T) {
		isolate(t)
		t.Setenv("PATH", t.TempDir())
		dir := t.TempDir()
		env := newTestEnv(t, false)
		require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --git --dir "+dir), "stderr:\n%s", env.stderr)
		assert.Contains(t, env.stderr.String(), "git was not found")
		assert.Contains(t, env.stderr.String(), "git init")
		_, err := os.Stat(filepath.Join(dir, "my-app", ".git"))
		assert.ErrorIs(t, err, os.ErrNotExist, ".git exists without git")
	})
}

func TestInitColor(t *testing.T) {
	tests := []struct {
		name      string
		cmdline   string
		env       map[string]string
		file      string
		wantColor bool
	}{
		{name: "terminal", cmdline: "init my-app --no-input", wantColor: true},
		{name: "NO_COLOR", cmdline: "init my-app --no-input", env: map[string]string{"NO_COLOR": "1"}},
		{name: "--no-color", cmdline: "init my-app --no-input --no-color"},
		{name: "QUICKSCALE_NO_COLOR", cmdline: "init my-app --no-input", env: map[string]string{"QUICKSCALE_NO_COLOR": "true"}},
		{name: "config file", cmdline: "init my-app --no-input", file: "no_color: true\n"},
		{name: "flag over config file", cmdline: "init my-app --no-input --no-color=false", file: "no_color: true\n", wantColor: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateWith(t, tt.env, tt.file)
			env := newTestEnv(t, true)
			require.Equal(t, ExitOK, env.run(context.Background(), tt.cmdline), "stderr:\n%s", env.stderr)
			assert.Equal(t, tt.wantColor, strings.Contains(env.stdout.String(), "\x1b["), "colour in stdout:\n%q", env.stdout)
		})
	}
}

func TestInitVerbose(t *testing.T) {
	isolate(t)
	t.Setenv("QUICKSCALE_DB", "postgres")
	env := newTestEnv(t, false)
	require.Equal(t, ExitOK, env.run(context.Background(), "init my-app --verbose --dry-run"), "stderr:\n%s", env.stderr)
	stderr := env.stderr.String()
	for _, want := range []string{"debug: db: postgres (from QUICKSCALE_DB)", "debug: dir: . (from default)", "debug: rendered"} {
		assert.Contains(t, stderr, want, "stderr")
	}
	assert.NotContains(t, env.stdout.String(), "debug:", "debug output went to stdout")
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"my-app":              "my-app",
		"github.com/you/x":    "github.com/you/x",
		"/tmp/with space":     "'/tmp/with space'",
		"it's":                `'it'\''s'`,
		"":                    "''",
		"~/code":              "'~/code'",
		"$HOME":               "'$HOME'",
		"example.com/a_b~c.d": "'example.com/a_b~c.d'",
	} {
		assert.Equal(t, want, shellQuote(in), "shellQuote(%q)", in)
	}
}

// init's help states the name rules in words; hold them to the generator's.
func TestInitHelpMatchesNameRules(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	cmd := NewCmdInit(env.f, nil)
	require.Contains(t, strings.Join(strings.Fields(cmd.Long), " "), "2 to 40 lowercase letters, digits and single hyphens, starting with a letter",
		"init's help no longer states the name rules this test checks")
	for name, ok := range map[string]bool{
		"ab":                    true,
		strings.Repeat("a", 40): true,
		"a":                     false,
		strings.Repeat("a", 41): false,
		"my-app2":               true,
		"2app":                  false,
		"-app":                  false,
		"my--app":               false,
		"My-app":                false,
		"my_app":                false,
	} {
		err := generator.ValidateName(name)
		assert.Equal(t, ok, err == nil, "ValidateName(%q) = %v, but the help says it is valid: %v", name, err, ok)
	}
}
