package commands

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/project"
)

// fakeEngine records what the commands ask of Docker and answers from its
// fields. The real engine is exercised by internal/docker's tests and e2e.
type fakeEngine struct {
	services   []docker.Service
	code       int   // exit code of Exec and Run
	destroyErr error // returned by Destroy

	calls   []string
	command docker.Command
	down    docker.DownOptions
}

func (f *fakeEngine) Info() docker.Info {
	return docker.Info{ServerVersion: "20.10.24", APIVersion: "1.41", OS: "linux", Arch: "amd64", Host: "unix:///fake.sock", Local: true}
}
func (f *fakeEngine) ImageExists(context.Context, string) (bool, error) { return true, nil }
func (f *fakeEngine) BuildImage(context.Context, docker.ImageBuild) error {
	f.calls = append(f.calls, "build")
	return nil
}
func (f *fakeEngine) ImageSize(context.Context, string) (int64, error)           { return 0, nil }
func (f *fakeEngine) SaveImage(context.Context, string, io.Writer) error         { return nil }
func (f *fakeEngine) LoadImage(context.Context, io.Reader, io.Writer) error      { return nil }
func (f *fakeEngine) PruneImages(context.Context, string, int) ([]string, error) { return nil, nil }
func (f *fakeEngine) Up(context.Context, docker.Stack, docker.UpOptions) error {
	f.calls = append(f.calls, "up")
	return nil
}
func (f *fakeEngine) Down(_ context.Context, _ docker.Stack, opts docker.DownOptions) error {
	f.calls = append(f.calls, "down")
	f.down = opts
	return nil
}
func (f *fakeEngine) Services(context.Context, docker.Stack) ([]docker.Service, error) {
	return f.services, nil
}
func (f *fakeEngine) Logs(_ context.Context, _ docker.Stack, _ docker.LogOptions, sink docker.LogSink) error {
	sink.Line("app-1", "request GET /")
	return nil
}
func (f *fakeEngine) Exec(_ context.Context, _ docker.Stack, cmd docker.Command) (int, error) {
	f.calls = append(f.calls, "exec")
	f.command = cmd
	return f.code, nil
}
func (f *fakeEngine) Run(_ context.Context, _ docker.Stack, cmd docker.Command) (int, error) {
	f.calls = append(f.calls, "run")
	f.command = cmd
	return f.code, nil
}
func (f *fakeEngine) Destroy(context.Context, string) (docker.Removed, error) {
	f.calls = append(f.calls, "destroy")
	return docker.Removed{Containers: []string{"c1"}, Volumes: []string{"v1"}}, f.destroyErr
}
func (f *fakeEngine) Close() error { return nil }

var runningStack = []docker.Service{
	{Service: "app", Container: "my-app-app-1", State: "running", Health: "healthy", Ports: []docker.Port{{HostIP: "127.0.0.1", HostPort: 8123, ContainerPort: 8000, Protocol: "tcp"}}},
	{Service: "migrate", Container: "my-app-migrate-1", State: "exited"},
}

// inProject makes a project directory with a marker and moves into a
// subdirectory of it: commands find projects from anywhere inside.
func inProject(t *testing.T) string {
	t.Helper()
	isolate(t)
	root := t.TempDir()
	m := project.Marker{Name: "my-app", Module: "example.com/my-app", DB: "sqlite", TemplateVersion: 1, QuickscaleVersion: "v0.1.0"}
	writeFile(t, filepath.Join(root, project.FileName), string(project.Encode(m)))
	writeFile(t, filepath.Join(root, ".env"), "APP_PORT=8123\n")
	sub := filepath.Join(root, "internal", "web")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	return root
}

// withEngine gives the test factory a fake engine.
func withEngine(env *testEnv, e *fakeEngine) {
	env.f.Docker = func() (docker.Engine, error) { return e, nil }
}

func TestDockerCommandLines(t *testing.T) {
	isolate(t)
	tests := []struct {
		cmdline string
		make    func(f *Factory, got *any) *cobra.Command
		want    any
		code    ExitCode
	}{
		{"build --no-cache", func(f *Factory, got *any) *cobra.Command {
			return NewCmdBuild(f, func(_ context.Context, o *BuildOptions) error { *got = o.NoCache; return nil })
		}, true, ExitOK},
		{"up --port 8080 --timeout 5m", func(f *Factory, got *any) *cobra.Command {
			return NewCmdUp(f, func(_ context.Context, o *UpOptions) error { *got = [2]any{o.Port, o.Timeout}; return nil })
		}, [2]any{8080, 5 * time.Minute}, ExitOK},
		{"up --port 70000", func(f *Factory, got *any) *cobra.Command {
			return NewCmdUp(f, func(context.Context, *UpOptions) error { return nil })
		}, nil, ExitUsage},
		{"down --volumes --yes", func(f *Factory, got *any) *cobra.Command {
			return NewCmdDown(f, func(_ context.Context, o *DownOptions) error { *got = [2]bool{o.Volumes, o.Yes}; return nil })
		}, [2]bool{true, true}, ExitOK},
		{"down --yes", func(f *Factory, got *any) *cobra.Command {
			return NewCmdDown(f, func(context.Context, *DownOptions) error { return nil })
		}, nil, ExitUsage},
		{"logs -f -n 10 --since 10m -t app db", func(f *Factory, got *any) *cobra.Command {
			return NewCmdLogs(f, func(_ context.Context, o *LogsOptions) error {
				*got = [5]any{o.Follow, o.Tail, o.Since, o.Timestamps, strings.Join(o.Services, ",")}
				return nil
			})
		}, [5]any{true, "10", "10m", true, "app,db"}, ExitOK},
		{"logs --build app", func(f *Factory, got *any) *cobra.Command {
			return NewCmdLogs(f, func(context.Context, *LogsOptions) error { return nil })
		}, nil, ExitUsage},
		{"logs -n many", func(f *Factory, got *any) *cobra.Command {
			return NewCmdLogs(f, func(context.Context, *LogsOptions) error { return nil })
		}, nil, ExitUsage},
		{"manage migrate status --verbose -x", func(f *Factory, got *any) *cobra.Command {
			return NewCmdManage(f, func(_ context.Context, o *ManageOptions) error { *got = strings.Join(o.Args, " "); return nil })
		}, "migrate status --verbose -x", ExitOK},
		{"manage", func(f *Factory, got *any) *cobra.Command {
			return NewCmdManage(f, func(_ context.Context, o *ManageOptions) error { *got = strings.Join(o.Args, " "); return nil })
		}, "help", ExitOK},
		{"manage --help", func(f *Factory, got *any) *cobra.Command {
			return NewCmdManage(f, func(_ context.Context, o *ManageOptions) error { *got = strings.Join(o.Args, " "); return nil })
		}, "--help", ExitOK},
		{"test --e2e -- -run TestContact -v", func(f *Factory, got *any) *cobra.Command {
			return NewCmdTest(f, func(_ context.Context, o *TestOptions) error {
				*got = [2]any{o.E2E, strings.Join(o.GoTestArgs, " ")}
				return nil
			})
		}, [2]any{true, "-run TestContact -v"}, ExitOK},
		{"test ./internal/...", func(f *Factory, got *any) *cobra.Command {
			return NewCmdTest(f, func(context.Context, *TestOptions) error { return nil })
		}, nil, ExitUsage},
		{"destroy --yes --delete-files", func(f *Factory, got *any) *cobra.Command {
			return NewCmdDestroy(f, func(_ context.Context, o *DestroyOptions) error { *got = [2]bool{o.Yes, o.DeleteFiles}; return nil })
		}, [2]bool{true, true}, ExitOK},
		{"ps --json", func(f *Factory, got *any) *cobra.Command {
			return NewCmdPs(f, func(_ context.Context, o *PsOptions) error { *got = o.JSON; return nil })
		}, true, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.cmdline, func(t *testing.T) {
			env := newTestEnv(t, false)
			var got any
			root := &cobra.Command{Use: "quickscale", SilenceErrors: true, SilenceUsage: true}
			root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return FlagErrorWrap(err) })
			root.AddCommand(tt.make(env.f, &got))
			root.SetArgs(strings.Fields(tt.cmdline))
			root.SetOut(env.stdout)
			root.SetErr(env.stderr)
			cmd, err := root.ExecuteC()
			if code := handleError(env.ios, cmd, err); code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.code, env.stderr)
			}
			if tt.code == ExitOK && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestVersionNeverDialsDocker(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	env.f.Docker = func() (docker.Engine, error) {
		t.Error("quickscale version asked for the Docker Engine")
		return nil, errors.New("no engine")
	}
	if code := env.run(context.Background(), "version"); code != ExitOK {
		t.Fatalf("version exited %d", code)
	}
}

func TestDockerCommandsOutsideAProject(t *testing.T) {
	isolate(t)
	t.Chdir(t.TempDir())
	for _, cmdline := range []string{"build", "up", "down", "ps", "logs", "manage migrate status", "test", "destroy --yes"} {
		env := newTestEnv(t, false)
		withEngine(env, &fakeEngine{})
		if code := env.run(context.Background(), cmdline); code != ExitError {
			t.Errorf("%s outside a project exited %d, want %d", cmdline, code, ExitError)
		}
		if !strings.Contains(env.stderr.String(), "not inside a quickscale project") {
			t.Errorf("%s: stderr does not say so:\n%s", cmdline, env.stderr)
		}
	}
}

func TestPsTableAndJSON(t *testing.T) {
	inProject(t)
	env := newTestEnv(t, false)
	withEngine(env, &fakeEngine{services: runningStack})
	if code := env.run(context.Background(), "ps"); code != ExitOK {
		t.Fatalf("ps exited %d: %s", code, env.stderr)
	}
	want := "SERVICE  STATE       HEALTH   PORTS\n" +
		"app      running     healthy  127.0.0.1:8123->8000/tcp\n" +
		"migrate  exited (0)  -        -\n"
	if env.stdout.String() != want {
		t.Errorf("ps table:\n%s\nwant:\n%s", env.stdout, want)
	}

	env = newTestEnv(t, false)
	withEngine(env, &fakeEngine{services: runningStack})
	env.run(context.Background(), "ps --json")
	var got []docker.Service
	if err := json.Unmarshal(env.stdout.Bytes(), &got); err != nil || !reflect.DeepEqual(got, runningStack) {
		t.Errorf("ps --json = %v (%v):\n%s", got, err, env.stdout)
	}

	env = newTestEnv(t, false)
	withEngine(env, &fakeEngine{})
	env.run(context.Background(), "ps --json")
	if strings.TrimSpace(env.stdout.String()) != "[]" {
		t.Errorf("ps --json of a stopped stack = %q, want []", env.stdout)
	}
}

func TestManageExecsWhenUpAndRunsOneOffWhenDown(t *testing.T) {
	inProject(t)
	for _, tt := range []struct {
		services []docker.Service
		call     string
	}{{runningStack, "exec"}, {nil, "run"}} {
		env := newTestEnv(t, false)
		e := &fakeEngine{services: tt.services, code: 3}
		withEngine(env, e)
		code := env.run(context.Background(), "manage migrate down --steps 2")
		if code != 3 {
			t.Errorf("manage exited %d, want the app's own 3", code)
		}
		if env.stderr.Len() != 0 {
			t.Errorf("manage added its own words to the app's failure: %q", env.stderr)
		}
		if !reflect.DeepEqual(e.calls, []string{tt.call}) {
			t.Errorf("engine calls %v, want %s", e.calls, tt.call)
		}
		if want := []string{"/app", "migrate", "down", "--steps", "2"}; !reflect.DeepEqual(e.command.Args, want) || e.command.Service != "app" {
			t.Errorf("command %+v, want %v in app", e.command, want)
		}
		if e.command.TTY || e.command.Interactive {
			t.Errorf("no terminal, yet TTY=%v Interactive=%v", e.command.TTY, e.command.Interactive)
		}
	}
}

func TestDownVolumesNeedsConfirmation(t *testing.T) {
	inProject(t)
	env := newTestEnv(t, false)
	e := &fakeEngine{}
	withEngine(env, e)
	if code := env.run(context.Background(), "down --volumes"); code != ExitUsage {
		t.Errorf("down --volumes without a terminal exited %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(env.stderr.String(), "--yes") || len(e.calls) != 0 {
		t.Errorf("stderr %q should name --yes, and nothing may be stopped (calls %v)", env.stderr, e.calls)
	}

	env = newTestEnv(t, true)
	env.prompter.ExpectConfirm("Delete all data of my-app?", false)
	withEngine(env, e)
	if code := env.run(context.Background(), "down --volumes"); code != ExitCancel || len(e.calls) != 0 {
		t.Errorf("declined: exit %d, calls %v; want %d and none", code, e.calls, ExitCancel)
	}

	env = newTestEnv(t, true)
	env.prompter.ExpectConfirm("Delete all data of my-app?", true)
	withEngine(env, e)
	if code := env.run(context.Background(), "down --volumes"); code != ExitOK || !e.down.Volumes {
		t.Errorf("confirmed: exit %d, volumes %v", code, e.down.Volumes)
	}

	e = &fakeEngine{}
	env = newTestEnv(t, false)
	withEngine(env, e)
	if code := env.run(context.Background(), "down"); code != ExitOK || e.down.Volumes || !strings.Contains(env.stdout.String(), "data is kept") {
		t.Errorf("plain down: exit %d, volumes %v, stdout %q", code, e.down.Volumes, env.stdout)
	}
}

func TestDestroy(t *testing.T) {
	root := inProject(t)

	env := newTestEnv(t, false)
	e := &fakeEngine{}
	withEngine(env, e)
	if code := env.run(context.Background(), "destroy"); code != ExitUsage || len(e.calls) != 0 {
		t.Errorf("destroy without --yes and terminal: exit %d, calls %v", code, e.calls)
	}

	env = newTestEnv(t, false)
	e = &fakeEngine{destroyErr: errors.New("engine hiccup")}
	withEngine(env, e)
	if code := env.run(context.Background(), "destroy --yes --delete-files"); code != ExitError {
		t.Errorf("failed destroy exited %d", code)
	}
	if _, err := os.Stat(filepath.Join(root, project.FileName)); err != nil {
		t.Fatalf("files deleted although Docker resources remain: %v", err)
	}

	env = newTestEnv(t, false)
	e = &fakeEngine{}
	withEngine(env, e)
	if code := env.run(context.Background(), "destroy --yes"); code != ExitOK || !strings.Contains(env.stdout.String(), "removed 1 containers, 0 networks, 1 volumes, 0 images") {
		t.Errorf("destroy --yes: exit %d, stdout %q", code, env.stdout)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("destroy without --delete-files removed the files: %v", err)
	}

	env = newTestEnv(t, false)
	withEngine(env, &fakeEngine{})
	if code := env.run(context.Background(), "destroy --yes --delete-files"); code != ExitOK {
		t.Fatalf("destroy --delete-files exited %d: %s", code, env.stderr)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("project directory still there: %v", err)
	}
	if !strings.Contains(env.stderr.String(), "cd out of it") {
		t.Errorf("no hint about the deleted working directory: %q", env.stderr)
	}
}

func TestLogsPrefixesAndBuildLog(t *testing.T) {
	root := inProject(t)
	env := newTestEnv(t, false)
	withEngine(env, &fakeEngine{services: runningStack})
	if code := env.run(context.Background(), "logs"); code != ExitOK {
		t.Fatalf("logs exited %d: %s", code, env.stderr)
	}
	if got := env.stdout.String(); got != "app-1     | request GET /\n" {
		t.Errorf("logs output %q", got)
	}

	env = newTestEnv(t, false)
	withEngine(env, &fakeEngine{})
	if code := env.run(context.Background(), "logs --build"); code != ExitError || !strings.Contains(env.stderr.String(), "quickscale build") {
		t.Errorf("logs --build without a build: exit %d, %q", code, env.stderr)
	}
	writeFile(t, filepath.Join(root, ".quickscale", "logs", "build-20260101T000000.000Z.log"), "old build\n")
	writeFile(t, filepath.Join(root, ".quickscale", "logs", "build-20260102T000000.000Z.log"), "$ go build -trimpath\n")
	env = newTestEnv(t, false)
	if code := env.run(context.Background(), "logs --build"); code != ExitOK || env.stdout.String() != "$ go build -trimpath\n" {
		t.Errorf("logs --build: exit %d, stdout %q", code, env.stdout)
	}
}

func TestCheckReportsUnreachableDocker(t *testing.T) {
	inProject(t)
	env := newTestEnv(t, false)
	env.f.Docker = func() (docker.Engine, error) {
		return nil, &docker.UnreachableError{Host: "unix:///var/run/docker.sock", Err: os.ErrNotExist}
	}
	code := env.run(context.Background(), "check")
	if code != ExitError {
		t.Errorf("check with no Docker exited %d, want %d", code, ExitError)
	}
	out := env.stdout.String()
	for _, want := range []string{"X Docker", "unix:///var/run/docker.sock", "8123 (APP_PORT)", "Project  my-app (sqlite)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

func TestExitStatusErrorIsSilentAndKeepsTheCode(t *testing.T) {
	env := newTestEnv(t, false)
	if code := handleError(env.ios, nil, &ExitStatusError{Code: 42}); code != 42 || env.stderr.Len() != 0 {
		t.Errorf("code %d, stderr %q; want 42 and nothing printed", code, env.stderr)
	}
}
