package commands

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
			code := handleError(env.ios, cmd, err)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, env.stderr)
			}
			if tt.wantErr != "" {
				if stderr := plain(env.stderr.String()); !strings.HasPrefix(stderr, "Error: ") || !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("stderr = %q, want an error containing %q", env.stderr, tt.wantErr)
				}
				return
			}
			if got == nil {
				t.Fatal("the run function was not called")
			}
			if g, w := parsedOf(got), parsedOf(&tt.want); g != w {
				t.Errorf("options:\n got %+v\nwant %+v", g, w)
			}
			if env.prompted {
				t.Error("parsing the command line started a prompt")
			}
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
	if err != nil {
		t.Fatalf("load the marker of %s: %v", dir, err)
	}
	return m
}

func TestInitWithoutTerminalUsesDefaults(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Chdir(dir)
	env := newTestEnv(t, false)

	if code := env.run(context.Background(), "init my-app"); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	if env.prompted {
		t.Error("init prompted without a terminal")
	}
	m := marker(t, filepath.Join(dir, "my-app"))
	if m.Name != "my-app" || m.Module != "example.com/my-app" || m.DB != "sqlite" || m.QuickscaleVersion != testBuild.Version {
		t.Errorf("marker = %+v", m)
	}
	out := env.stdout.String()
	for _, want := range []string{"Created my-app in " + filepath.Join(dir, "my-app"), "cd my-app", "make run", "quickscale up", "http://localhost:8000"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("stdout has colour although it is not a terminal:\n%q", out)
	}
	if strings.Contains(out, "without questions") {
		t.Errorf("an equivalent command was printed although nothing was asked:\n%s", out)
	}
}

func TestInitWizard(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Chdir(dir)
	env := newTestEnv(t, true)
	env.prompter.
		ExpectInput("Project name", "Bad_Name", "shop").
		ExpectInput("Go module path", "github.com/you/shop").
		ExpectSelect("Database", "postgres")

	if code := env.run(context.Background(), "init"); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	if rest := env.prompter.Remaining(); len(rest) > 0 {
		t.Errorf("questions never asked: %q", rest)
	}
	asked := env.prompter.Asked
	if len(asked) != 3 {
		t.Fatalf("asked %d questions: %+v", len(asked), asked)
	}
	if len(asked[0].Rejected) != 1 || !strings.Contains(asked[0].Rejected[0], `"Bad_Name"`) {
		t.Errorf("the name prompt did not validate with the generator's rules: rejected %q", asked[0].Rejected)
	}
	if asked[1].Default != "example.com/shop" {
		t.Errorf("module default = %q, want example.com/shop", asked[1].Default)
	}
	if asked[2].Default != "sqlite" || strings.Join(asked[2].Options, ",") != strings.Join(generator.DBs, ",") {
		t.Errorf("database question = %+v", asked[2])
	}
	m := marker(t, filepath.Join(dir, "shop"))
	if m.Module != "github.com/you/shop" || m.DB != "postgres" {
		t.Errorf("marker = %+v", m)
	}
	want := "quickscale init shop --module github.com/you/shop --db postgres --no-input"
	if !strings.Contains(plain(env.stdout.String()), want) {
		t.Errorf("stdout does not show the equivalent command %q:\n%s", want, env.stdout)
	}
}

// The printed equivalent command must really reproduce the project.
func TestInitEquivalentCommandReproduces(t *testing.T) {
	isolate(t)
	first, second := t.TempDir(), t.TempDir()
	t.Chdir(first)
	env := newTestEnv(t, true)
	env.prompter.
		ExpectInput("Project name", "my-app").
		ExpectInput("Go module path", "").
		ExpectSelect("Database", "postgres")
	if code := env.run(context.Background(), "init --dir "+first); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	var equivalent string
	for _, line := range strings.Split(plain(env.stdout.String()), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "quickscale init ") {
			equivalent = line
		}
	}
	if equivalent == "" {
		t.Fatalf("no equivalent command in:\n%s", env.stdout)
	}
	equivalent = strings.Replace(equivalent, "--dir "+first, "--dir "+second, 1)

	again := newTestEnv(t, false)
	if code := again.run(context.Background(), strings.TrimPrefix(equivalent, "quickscale ")); code != ExitOK {
		t.Fatalf("%s: exit code %d; stderr:\n%s", equivalent, code, again.stderr)
	}
	if a, b := marker(t, filepath.Join(first, "my-app")), marker(t, filepath.Join(second, "my-app")); a != b {
		t.Errorf("the equivalent command made a different project:\n%+v\n%+v", a, b)
	}
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
			t.Chdir(t.TempDir())
			env := newTestEnv(t, true)
			tt.expect(env)
			if code := env.run(context.Background(), tt.cmdline); code != ExitOK {
				t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
			}
			if len(env.prompter.Asked) != tt.asked {
				t.Errorf("asked %+v, want %d questions", env.prompter.Asked, tt.asked)
			}
			if printed := strings.Contains(env.stdout.String(), "without questions"); printed != (tt.asked > 0) {
				t.Errorf("equivalent command printed: %v, want %v", printed, tt.asked > 0)
			}
		})
	}
}

func TestInitWizardAbort(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Chdir(dir)
	env := newTestEnv(t, true)
	env.prompter.ExpectInput("Project name", "my-app").ExpectAbort("Go module path")

	if code := env.run(context.Background(), "init"); code != ExitCancel {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitCancel, env.stderr)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("an aborted wizard left %q", got)
	}
	if !strings.Contains(env.stderr.String(), "nothing was written") {
		t.Errorf("stderr = %q", env.stderr)
	}
}

func TestInitCancelledDuringWrite(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as Main's context is after Ctrl-C

	if code := env.run(ctx, "init my-app --dir "+dir); code != ExitCancel {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitCancel, env.stderr)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("a cancelled init left %q", got)
	}
}

func TestInitDryRun(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	env := newTestEnv(t, false)

	if code := env.run(context.Background(), "init my-app --db postgres --dry-run --dir "+dir); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("--dry-run wrote %q", got)
	}

	files, err := generator.Render(generator.Options{Name: "my-app", Module: "example.com/my-app", DB: "postgres", QuickscaleVersion: testBuild.Version})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	total, listed := 0, 0
	for _, f := range files {
		sizes[f.Path] = len(f.Data)
		total += len(f.Data)
	}
	lines := strings.Split(strings.TrimSpace(env.stdout.String()), "\n")
	if !strings.Contains(lines[0], filepath.Join(dir, "my-app")) {
		t.Errorf("first line %q does not name the target", lines[0])
	}
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		size, err := strconv.Atoi(fields[0])
		if err != nil {
			t.Fatalf("line %q does not start with a size", line)
		}
		want, ok := sizes[fields[1]]
		if !ok {
			t.Errorf("listed %q, which Render does not produce", fields[1])
			continue
		}
		if size != want {
			t.Errorf("%s listed with %d bytes, want %d", fields[1], size, want)
		}
		listed++
	}
	if listed != len(files) {
		t.Errorf("listed %d files, want %d", listed, len(files))
	}
	if wantTotal := strconv.Itoa(total) + "  bytes in " + strconv.Itoa(len(files)) + " files"; !strings.Contains(env.stdout.String(), wantTotal) {
		t.Errorf("stdout lacks the total %q:\n%s", wantTotal, env.stdout)
	}
	if !strings.Contains(env.stdout.String(), "Nothing was written") {
		t.Error("the dry run does not say that nothing was written")
	}
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
			t.Chdir(dir)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := entries(t, dir)
			env := newTestEnv(t, false)

			if code := env.run(context.Background(), tt.cmdline); code != ExitUsage {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitUsage, env.stderr)
			}
			stderr := env.stderr.String()
			if !strings.HasPrefix(stderr, "Error: ") {
				t.Errorf("stderr does not start with Error: %q", stderr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not contain %q", stderr, want)
				}
			}
			if after := entries(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("the directory changed from %q to %q", before, after)
			}
			if env.stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", env.stdout)
			}
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
		if err := os.Chmod(parent, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(parent, 0o755) })
	}
	env := newTestEnv(t, false)
	if code := env.run(context.Background(), "init my-app --dir "+parent); code != ExitUsage {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitUsage, env.stderr)
	}
	if !strings.Contains(env.stderr.String(), "cannot create files in "+parent) {
		t.Errorf("stderr = %q", env.stderr)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestInitGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required for these tests")
	}
	t.Run("with an identity", func(t *testing.T) {
		_, gitConfig := isolate(t)
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n")
		dir := t.TempDir()
		env := newTestEnv(t, false)
		if code := env.run(context.Background(), "init my-app --git --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
		}
		project := filepath.Join(dir, "my-app")
		if got := git(t, project, "log", "--format=%s|%an"); got != "Initial commit from quickscale "+testBuild.Version+"|Test User" {
			t.Errorf("git log = %q", got)
		}
		if got := git(t, project, "status", "--porcelain", "--ignored=no"); got != "" {
			t.Errorf("files left out of the first commit:\n%s", got)
		}
		if got := git(t, project, "ls-files", ".env"); got != "" {
			t.Errorf("the secrets file .env was committed")
		}
		if env.stderr.Len() != 0 {
			t.Errorf("stderr = %q", env.stderr)
		}
	})
	t.Run("from the config file", func(t *testing.T) {
		configFile, gitConfig := isolate(t)
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n")
		writeFile(t, configFile, "git: true\n")
		dir := t.TempDir()
		env := newTestEnv(t, false)
		if code := env.run(context.Background(), "init my-app --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
		}
		git(t, filepath.Join(dir, "my-app"), "rev-parse", "HEAD")
	})
	t.Run("without an identity", func(t *testing.T) {
		isolate(t)
		dir := t.TempDir()
		env := newTestEnv(t, false)
		if code := env.run(context.Background(), "init my-app --git --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d, want 0 whatever git says; stderr:\n%s", code, env.stderr)
		}
		stderr := env.stderr.String()
		for _, want := range []string{"made no commit", "user.name and user.email", "git config --global user.email", "git commit -m"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("warning %q does not contain %q", stderr, want)
			}
		}
		project := filepath.Join(dir, "my-app")
		if _, err := os.Stat(filepath.Join(project, "quickscale.yaml")); err != nil {
			t.Errorf("the project was not written: %v", err)
		}
		cmd := exec.Command("git", "rev-parse", "--verify", "HEAD")
		cmd.Dir = project
		if cmd.Run() == nil {
			t.Error("a commit was made without an identity")
		}
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
		if code := env.run(context.Background(), "init my-app --git --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
		}
		if got := git(t, filepath.Join(dir, "my-app"), "log", "--format=%an"); got != "Env User" {
			t.Errorf("author = %q", got)
		}
	})
	t.Run("a commit hook that refuses", func(t *testing.T) {
		_, gitConfig := isolate(t)
		hooks := t.TempDir()
		writeFile(t, filepath.Join(hooks, "pre-commit"), "#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
		if err := os.Chmod(filepath.Join(hooks, "pre-commit"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n[core]\n\thooksPath = "+hooks+"\n")
		dir := t.TempDir()
		env := newTestEnv(t, false)
		if code := env.run(context.Background(), "init my-app --git --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d, want 0 whatever git says; stderr:\n%s", code, env.stderr)
		}
		for _, want := range []string{"git commit failed: policy: no commits today", "git add -A && git commit -m"} {
			if !strings.Contains(env.stderr.String(), want) {
				t.Errorf("warning %q does not contain %q", env.stderr, want)
			}
		}
		if !strings.Contains(env.stdout.String(), "Next steps") {
			t.Errorf("next steps missing after a git warning:\n%s", env.stdout)
		}
	})
	t.Run("another repository in GIT_DIR", func(t *testing.T) {
		_, gitConfig := isolate(t)
		writeFile(t, gitConfig, "[user]\n\tname = Test User\n\temail = test@example.com\n")
		other := t.TempDir()
		git(t, other, "init", "--quiet")
		t.Setenv("GIT_DIR", filepath.Join(other, ".git")) // as inside a git hook
		dir := t.TempDir()
		env := newTestEnv(t, false)
		if code := env.run(context.Background(), "init my-app --git --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
		}
		os.Unsetenv("GIT_DIR")
		git(t, filepath.Join(dir, "my-app"), "rev-parse", "HEAD")
		cmd := exec.Command("git", "rev-parse", "--verify", "HEAD")
		cmd.Dir = other
		if cmd.Run() == nil {
			t.Error("init committed to the repository named by GIT_DIR")
		}
	})
	t.Run("without git", func(t *testing.T) {
		isolate(t)
		t.Setenv("PATH", t.TempDir())
		dir := t.TempDir()
		env := newTestEnv(t, false)
		if code := env.run(context.Background(), "init my-app --git --dir "+dir); code != ExitOK {
			t.Fatalf("exit code %d, want 0 whatever git says; stderr:\n%s", code, env.stderr)
		}
		if !strings.Contains(env.stderr.String(), "git was not found") || !strings.Contains(env.stderr.String(), "git init") {
			t.Errorf("stderr = %q", env.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "my-app", ".git")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf(".git exists without git: %v", err)
		}
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
			t.Chdir(t.TempDir())
			env := newTestEnv(t, true)
			if code := env.run(context.Background(), tt.cmdline); code != ExitOK {
				t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
			}
			if got := strings.Contains(env.stdout.String(), "\x1b["); got != tt.wantColor {
				t.Errorf("colour in stdout: %v, want %v:\n%q", got, tt.wantColor, env.stdout)
			}
		})
	}
}

func TestInitVerbose(t *testing.T) {
	isolate(t)
	t.Setenv("QUICKSCALE_DB", "postgres")
	env := newTestEnv(t, false)
	if code := env.run(context.Background(), "init my-app --verbose --dry-run"); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, env.stderr)
	}
	stderr := env.stderr.String()
	for _, want := range []string{"debug: db: postgres (from QUICKSCALE_DB)", "debug: dir: . (from default)", "debug: rendered"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(env.stdout.String(), "debug:") {
		t.Error("debug output went to stdout")
	}
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
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// init's help states the name rules in words; hold them to the generator's.
func TestInitHelpMatchesNameRules(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	cmd := NewCmdInit(env.f, nil)
	if !strings.Contains(strings.Join(strings.Fields(cmd.Long), " "), "2 to 40 lowercase letters, digits and single hyphens, starting with a letter") {
		t.Fatal("init's help no longer states the name rules this test checks")
	}
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
		if err := generator.ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, but the help says it is valid: %v", name, err, ok)
		}
	}
}
