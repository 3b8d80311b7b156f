package commands

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/appcontract"
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
	{Service: "app", Container: "my-app-app-1", State: "running", Health: "healthy", Ports: []docker.Port{{HostIP: "127.0.0.1", HostPort: 8123, ContainerPort: appcontract.HTTPPort, Protocol: "tcp"}}},
	{Service: "migrate", Container: "my-app-migrate-1", State: "exited"},
}

// inProject makes a project directory with a marker and returns its root
// and a directory below it to work in: commands find projects from
// anywhere inside.
func inProject(t *testing.T) (root, wd string) {
	t.Helper()
	isolate(t)
	root = t.TempDir()
	m := project.Marker{Name: "my-app", Module: "example.com/my-app", DB: "sqlite", TemplateVersion: 1, QuickscaleVersion: "v0.1.0"}
	writeFile(t, filepath.Join(root, project.FileName), string(project.Encode(m)))
	writeFile(t, filepath.Join(root, ".env"), "APP_PORT=8123\n")
	wd = filepath.Join(root, "internal", "web")
	require.NoError(t, os.MkdirAll(wd, 0o755))
	return root, wd
}

// withEngine gives the test factory a fake engine.
func withEngine(env *testEnv, e *fakeEngine) *testEnv {
	env.f.Docker = func() (docker.Engine, error) { return e, nil }
	return env
}

// parseCommand runs cmdline through a root command holding only the
// command newCmd builds, whose run function records the options it got
// (nil when it was not called).
func parseCommand[O any](t *testing.T, cmdline string, newCmd func(*Factory, func(context.Context, *O) error) *cobra.Command) (*O, ExitCode) {
	t.Helper()
	env := newTestEnv(t, false)
	var got *O
	root := &cobra.Command{Use: "quickscale", SilenceErrors: true, SilenceUsage: true}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return FlagErrorWrap(err) })
	root.AddCommand(newCmd(env.f, func(_ context.Context, o *O) error { got = o; return nil }))
	root.SetArgs(strings.Fields(cmdline))
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	cmd, err := root.ExecuteC()
	code := handleError(env.ios, cmd, err)
	if code != ExitOK {
		t.Logf("stderr: %s", env.stderr)
	}
	return got, code
}

// commandLine is one case of a command's parsing table: the options its
// run function gets, or the exit code with which it is refused.
type commandLine[O any] struct {
	cmdline string
	want    O
	code    ExitCode
}

// testCommandLines runs each case through newCmd and compares the whole
// options its run function got, once clearDeps has emptied the
// dependency fields: a new flag must be added to the tables.
func testCommandLines[O any](t *testing.T, newCmd func(*Factory, func(context.Context, *O) error) *cobra.Command, clearDeps func(*O), tests []commandLine[O]) {
	t.Helper()
	isolate(t)
	for _, tt := range tests {
		t.Run(tt.cmdline, func(t *testing.T) {
			got, code := parseCommand(t, tt.cmdline, newCmd)
			require.Equal(t, tt.code, code)
			if tt.code != ExitOK {
				assert.Nil(t, got, "the run function was called")
				return
			}
			require.NotNil(t, got, "the run function was not called")
			clearDeps(got)
			assert.Equal(t, tt.want, *got)
		})
	}
}

func TestBuildCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdBuild, func(o *BuildOptions) { o.IO, o.Project, o.Docker = nil, nil, nil }, []commandLine[BuildOptions]{
		{"build", BuildOptions{}, ExitOK},
		{"build --no-cache", BuildOptions{NoCache: true}, ExitOK},
		{"build extra", BuildOptions{}, ExitUsage},
	})
}

func TestUpCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdUp, func(o *UpOptions) { o.IO, o.Project, o.Docker = nil, nil, nil }, []commandLine[UpOptions]{
		{"up", UpOptions{Timeout: 2 * time.Minute}, ExitOK},
		{"up --port 8080 --timeout 5m --no-cache", UpOptions{Port: 8080, Timeout: 5 * time.Minute, NoCache: true}, ExitOK},
		{"up --port 70000", UpOptions{}, ExitUsage},
		{"up --timeout 0s", UpOptions{}, ExitUsage},
	})
}

func TestDownCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdDown, func(o *DownOptions) { o.IO, o.Project, o.Docker, o.Prompter = nil, nil, nil, nil }, []commandLine[DownOptions]{
		{"down", DownOptions{}, ExitOK},
		{"down --volumes --yes", DownOptions{Volumes: true, Yes: true}, ExitOK},
		{"down --yes", DownOptions{}, ExitUsage},
	})
}

func TestLogsCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdLogs, func(o *LogsOptions) { o.IO, o.Project, o.Docker = nil, nil, nil }, []commandLine[LogsOptions]{
		{"logs", LogsOptions{Services: []string{}, Tail: "all"}, ExitOK},
		{"logs -f -n 10 --since 10m --until 1m -t app db", LogsOptions{Services: []string{"app", "db"}, Follow: true, Tail: "10", Since: "10m", Until: "1m", Timestamps: true}, ExitOK},
		{"logs --build", LogsOptions{Services: []string{}, Tail: "all", Build: true}, ExitOK},
		{"logs --build app", LogsOptions{}, ExitUsage},
		{"logs -n many", LogsOptions{}, ExitUsage},
	})
}

func TestManageCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdManage, func(o *ManageOptions) { o.IO, o.Project, o.Docker = nil, nil, nil }, []commandLine[ManageOptions]{
		{"manage migrate status --verbose -x", ManageOptions{Args: []string{"migrate", "status", "--verbose", "-x"}}, ExitOK},
		{"manage", ManageOptions{Args: []string{"help"}}, ExitOK},
		{"manage --help", ManageOptions{Args: []string{"--help"}}, ExitOK},
	})
}

func TestTestCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdTest, func(o *TestOptions) { o.IO, o.Project, o.Docker = nil, nil, nil }, []commandLine[TestOptions]{
		{"test", TestOptions{}, ExitOK},
		{"test --e2e -- -run TestContact -v", TestOptions{E2E: true, GoTestArgs: []string{"-run", "TestContact", "-v"}}, ExitOK},
		{"test --e2e-only", TestOptions{E2E: true, E2EOnly: true}, ExitOK},
		{"test ./internal/...", TestOptions{}, ExitUsage},
		{"test ./internal/... -- -v", TestOptions{}, ExitUsage},
	})
}

func TestDestroyCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdDestroy, func(o *DestroyOptions) { o.IO, o.WorkingDir, o.Project, o.Docker, o.Prompter = nil, nil, nil, nil, nil }, []commandLine[DestroyOptions]{
		{"destroy", DestroyOptions{}, ExitOK},
		{"destroy --yes --delete-files", DestroyOptions{Yes: true, DeleteFiles: true}, ExitOK},
	})
}

func TestPsCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdPs, func(o *PsOptions) { o.IO, o.Project, o.Docker = nil, nil, nil }, []commandLine[PsOptions]{
		{"ps", PsOptions{}, ExitOK},
		{"ps --json", PsOptions{JSON: true}, ExitOK},
	})
}

func TestCheckCommandLine(t *testing.T) {
	testCommandLines(t, NewCmdCheck, func(o *CheckOptions) { o.IO, o.WorkingDir, o.Project, o.Docker = nil, nil, nil, nil }, []commandLine[CheckOptions]{
		{"check", CheckOptions{}, ExitOK},
		{"check extra", CheckOptions{}, ExitUsage},
	})
}

func TestVersionNeverDialsDocker(t *testing.T) {
	isolate(t)
	env := newTestEnv(t, false)
	env.f.Docker = func() (docker.Engine, error) {
		assert.Fail(t, "quickscale version asked for the Docker Engine")
		return nil, errors.New("no engine")
	}
	env.f.Project = func() (Project, error) {
		assert.Fail(t, "quickscale version looked for the project")
		return Project{}, errors.New("no project")
	}
	assert.Equal(t, ExitOK, env.run(context.Background(), "version"))
}

func TestDockerCommandsOutsideAProject(t *testing.T) {
	isolate(t)
	for _, cmdline := range []string{"build", "up", "down", "ps", "logs", "manage migrate status", "test", "destroy --yes"} {
		env := withEngine(newTestEnv(t, false), &fakeEngine{})
		assert.Equal(t, ExitError, env.run(context.Background(), cmdline), "%s outside a project", cmdline)
		assert.Contains(t, env.stderr.String(), "not inside a quickscale project", "%s: stderr", cmdline)
	}
}

func TestPsTableAndJSON(t *testing.T) {
	_, wd := inProject(t)
	env := withEngine(newTestEnv(t, false).in(wd), &fakeEngine{services: runningStack})
	require.Equal(t, ExitOK, env.run(context.Background(), "ps"), "stderr: %s", env.stderr)
	want := "SERVICE  STATE       HEALTH   PORTS\n" +
		"app      running     healthy  127.0.0.1:8123->8000/tcp\n" +
		"migrate  exited (0)  -        -\n"
	assert.Equal(t, want, env.stdout.String(), "ps table")

	env = withEngine(newTestEnv(t, false).in(wd), &fakeEngine{services: runningStack})
	env.run(context.Background(), "ps --json")
	var got []docker.Service
	require.NoError(t, json.Unmarshal(env.stdout.Bytes(), &got), "ps --json:\n%s", env.stdout)
	assert.Equal(t, runningStack, got, "ps --json")

	env = withEngine(newTestEnv(t, false).in(wd), &fakeEngine{})
	env.run(context.Background(), "ps --json")
	assert.Equal(t, "[]", strings.TrimSpace(env.stdout.String()), "ps --json of a stopped stack")
}

func TestManageExecsWhenUpAndRunsOneOffWhenDown(t *testing.T) {
	_, wd := inProject(t)
	for _, tt := range []struct {
		services []docker.Service
		call     string
	}{{runningStack, "exec"}, {nil, "run"}} {
		e := &fakeEngine{services: tt.services, code: 3}
		env := withEngine(newTestEnv(t, false).in(wd), e)
		code := env.run(context.Background(), "manage migrate down --steps 2")
		assert.Equal(t, ExitCode(3), code, "manage must exit with the app's own status")
		assert.Empty(t, env.stderr.String(), "manage added its own words to the app's failure")
		assert.Equal(t, []string{tt.call}, e.calls, "engine calls")
		assert.Equal(t, []string{"/app", "migrate", "down", "--steps", "2"}, e.command.Args, "command")
		assert.Equal(t, "app", e.command.Service, "command's service")
		assert.False(t, e.command.TTY, "no terminal, yet TTY")
		assert.False(t, e.command.Interactive, "no terminal, yet Interactive")
	}
}

func TestDownVolumesNeedsConfirmation(t *testing.T) {
	_, wd := inProject(t)
	e := &fakeEngine{}
	env := withEngine(newTestEnv(t, false).in(wd), e)
	assert.Equal(t, ExitUsage, env.run(context.Background(), "down --volumes"), "down --volumes without a terminal")
	assert.Contains(t, env.stderr.String(), "--yes")
	assert.Empty(t, e.calls, "nothing may be stopped")

	env = withEngine(newTestEnv(t, true).in(wd), e)
	env.prompter.ExpectConfirm("Delete all data of my-app?", false)
	assert.Equal(t, ExitCancel, env.run(context.Background(), "down --volumes"), "declined")
	assert.Empty(t, e.calls, "declined, yet the engine was called")

	env = withEngine(newTestEnv(t, true).in(wd), e)
	env.prompter.ExpectConfirm("Delete all data of my-app?", true)
	assert.Equal(t, ExitOK, env.run(context.Background(), "down --volumes"), "confirmed")
	assert.True(t, e.down.Volumes, "confirmed, yet the volumes were kept")

	e = &fakeEngine{}
	env = withEngine(newTestEnv(t, false).in(wd), e)
	assert.Equal(t, ExitOK, env.run(context.Background(), "down"), "plain down")
	assert.False(t, e.down.Volumes, "plain down deleted the volumes")
	assert.Contains(t, env.stdout.String(), "data is kept")
}

func TestDestroy(t *testing.T) {
	root, wd := inProject(t)

	e := &fakeEngine{}
	env := withEngine(newTestEnv(t, false).in(wd), e)
	assert.Equal(t, ExitUsage, env.run(context.Background(), "destroy"), "destroy without --yes and terminal")
	assert.Empty(t, e.calls)

	e = &fakeEngine{destroyErr: errors.New("engine hiccup")}
	env = withEngine(newTestEnv(t, false).in(wd), e)
	assert.Equal(t, ExitError, env.run(context.Background(), "destroy --yes --delete-files"), "failed destroy")
	require.FileExists(t, filepath.Join(root, project.FileName), "files deleted although Docker resources remain")

	env = withEngine(newTestEnv(t, false).in(wd), &fakeEngine{})
	assert.Equal(t, ExitOK, env.run(context.Background(), "destroy --yes"))
	assert.Contains(t, env.stdout.String(), "removed 1 containers, 0 networks, 1 volumes, 0 images")
	assert.DirExists(t, root, "destroy without --delete-files removed the files")

	env = withEngine(newTestEnv(t, false).in(wd), &fakeEngine{})
	require.Equal(t, ExitOK, env.run(context.Background(), "destroy --yes --delete-files"), "stderr: %s", env.stderr)
	assert.NoDirExists(t, root, "project directory still there")
	assert.Contains(t, env.stderr.String(), "cd out of it", "no hint about the deleted working directory")
}

func TestDestroyOutsideTheDeletedDirectoryGivesNoHint(t *testing.T) {
	root, _ := inProject(t)
	env := withEngine(newTestEnv(t, false), &fakeEngine{})
	env.f.Project = func() (Project, error) { return findProject(func() (string, error) { return root, nil }) }
	require.Equal(t, ExitOK, env.run(context.Background(), "destroy --yes --delete-files"), "stderr: %s", env.stderr)
	assert.NoDirExists(t, root)
	assert.NotContains(t, env.stderr.String(), "cd out of it")
}

func TestLogsPrefixesAndBuildLog(t *testing.T) {
	root, wd := inProject(t)
	env := withEngine(newTestEnv(t, false).in(wd), &fakeEngine{services: runningStack})
	require.Equal(t, ExitOK, env.run(context.Background(), "logs"), "stderr: %s", env.stderr)
	assert.Equal(t, "app-1     | request GET /\n", env.stdout.String(), "logs output")

	env = withEngine(newTestEnv(t, false).in(wd), &fakeEngine{})
	assert.Equal(t, ExitError, env.run(context.Background(), "logs --build"), "logs --build without a build")
	assert.Contains(t, env.stderr.String(), "quickscale build")

	writeFile(t, filepath.Join(root, ".quickscale", "logs", "build-20260101T000000.000Z.log"), "old build\n")
	writeFile(t, filepath.Join(root, ".quickscale", "logs", "build-20260102T000000.000Z.log"), "$ go build -trimpath\n")
	env = newTestEnv(t, false).in(wd)
	assert.Equal(t, ExitOK, env.run(context.Background(), "logs --build"))
	assert.Equal(t, "$ go build -trimpath\n", env.stdout.String())
}

func TestCheckReportsUnreachableDocker(t *testing.T) {
	_, wd := inProject(t)
	env := newTestEnv(t, false).in(wd)
	env.f.Docker = func() (docker.Engine, error) {
		return nil, &docker.UnreachableError{Host: "unix:///var/run/docker.sock", Err: os.ErrNotExist}
	}
	assert.Equal(t, ExitError, env.run(context.Background(), "check"), "check with no Docker")
	out := env.stdout.String()
	for _, want := range []string{"X Docker", "unix:///var/run/docker.sock", "8123 (APP_PORT)", "Project  my-app (sqlite)"} {
		assert.Contains(t, out, want, "check output")
	}
}

func TestExitStatusErrorIsSilentAndKeepsTheCode(t *testing.T) {
	env := newTestEnv(t, false)
	assert.Equal(t, ExitCode(42), handleError(env.ios, nil, &ExitStatusError{Code: 42}))
	assert.Empty(t, env.stderr.String(), "nothing may be printed")
}
