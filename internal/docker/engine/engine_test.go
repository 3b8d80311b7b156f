package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/appbuild"
	"github.com/quickscale/quickscale/internal/docker/dockertest"
	"github.com/quickscale/quickscale/templates"

	"github.com/quickscale/quickscale/internal/docker/engine"
)

// connect returns the real engine; these tests drive it. -short skips
// them; otherwise a missing engine fails them (scripts/start-dockerd starts
// one), as it fails `make test`.
func connect(t *testing.T, out io.Writer) *engine.Compose {
	t.Helper()
	if testing.Short() {
		t.Skip("drives the Docker Engine; skipped with -short")
	}
	if out == nil {
		out = io.Discard
	}
	e, err := engine.Connect(docker.Streams{In: strings.NewReader(""), Out: out, ErrOut: out})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// tinyProject lays out the tiny test app with the skeleton's own
// Dockerfile and compose.yaml templates, on a free port.
func tinyProject(t *testing.T, env ...string) (docker.Stack, int) {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "qsit-" + hex.EncodeToString(b[:])
	dir := t.TempDir()
	src := "../testdata/tiny"
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		rel = strings.ReplaceAll(rel, "tiny", name)
		target := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(t, err)
	for tmpl, out := range map[string]string{"Dockerfile.tmpl": "Dockerfile", "compose.yaml.tmpl": "compose.yaml"} {
		src, err := fs.ReadFile(templates.Skeleton, tmpl)
		require.NoError(t, err)
		tp := template.Must(template.New(tmpl).Option("missingkey=error").Parse(string(src)))
		var buf bytes.Buffer
		require.NoError(t, tp.Execute(&buf, map[string]any{"Name": name, "DB": "sqlite"}))
		require.NoError(t, os.WriteFile(filepath.Join(dir, out), buf.Bytes(), 0o644))
	}
	port := dockertest.FreePort(t)
	dotenv := fmt.Sprintf("APP_PORT=%d\n%s\n", port, strings.Join(env, "\n"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600))
	return docker.Stack{Name: name, Dir: dir, Env: map[string]string{}}, port
}

// destroyAtEnd removes whatever the test made, even when it fails midway.
func destroyAtEnd(t *testing.T, e docker.Engine, name string) {
	t.Cleanup(func() {
		_, err := e.Destroy(context.Background(), name)
		assert.NoError(t, err, "destroy %s", name)
	})
}

func build(t *testing.T, e docker.Engine, s docker.Stack, opts appbuild.Options) appbuild.Result {
	t.Helper()
	b := &appbuild.Builder{Engine: e, Root: s.Dir, Name: s.Name}
	res, err := b.Build(context.Background(), opts)
	require.NoError(t, err, "build")
	return res
}

type sink struct {
	mu    sync.Mutex
	lines []string
}

func (s *sink) Line(source, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, source+"|"+line)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

func TestConnectReportsEngine(t *testing.T) {
	e := connect(t, nil)
	info := e.Info()
	require.NotEmpty(t, info.ServerVersion, "incomplete engine info: %+v", info)
	require.NotEmpty(t, info.APIVersion, "incomplete engine info: %+v", info)
	require.NotEmpty(t, info.Arch, "incomplete engine info: %+v", info)
}

func TestConnectNamesTheSocketWhenNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nothing.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	t.Setenv("DOCKER_CONTEXT", "")
	_, err := engine.Connect(docker.Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	var unreachable *docker.UnreachableError
	require.ErrorAs(t, err, &unreachable, "Connect = %v, want UnreachableError", err)
	for _, want := range []string{sock, "quickscale check"} {
		assert.Contains(t, err.Error(), want, "error %q does not mention %q", err, want)
	}
}

func TestConnectNamesAnUnknownContext(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST") // DOCKER_HOST would override the context
	t.Setenv("DOCKER_CONTEXT", "no-such-context")
	_, err := engine.Connect(docker.Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	if assert.Error(t, err, "Connect with an unknown context") {
		assert.Contains(t, err.Error(), "no-such-context", "the unknown context is not named")
		assert.Contains(t, err.Error(), "docker context ls", "the fix is not named")
	}
}

func TestConnectRefusesTooOldEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", dockertest.OldEngine(t))
	_, err := engine.Connect(docker.Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	var old *docker.TooOldError
	require.ErrorAs(t, err, &old, "Connect = %v, want TooOldError", err)
	assert.Equal(t, "1.40", old.APIVersion, "the error's API version")
	assert.Contains(t, err.Error(), "20.10", "the error should name the 20.10 minimum")
}

// TestStackLifecycle drives the tiny app through build, up, exec, logs,
// down, up again with its data, a one-off run and destroy on the real
// engine.
func TestStackLifecycle(t *testing.T) {
	var out bytes.Buffer
	e := connect(t, &out)
	s, port := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	ctx := context.Background()

	first := build(t, e, s, appbuild.Options{})
	require.True(t, first.Built, "first build reused an image")
	again := build(t, e, s, appbuild.Options{})
	require.False(t, again.Built, "unchanged tree: built again, want the existing %s reused", first.Image)
	require.Equal(t, first.Image, again.Image, "unchanged tree: want the existing image reused")
	logData, err := os.ReadFile(first.LogPath)
	// The skeleton's Dockerfile ends with the binary's COPY: the builder
	// makes the base, the binary's layer is loaded onto it.
	assert.NoError(t, err, "read the build log")
	assert.Contains(t, string(logData), "Successfully tagged "+s.Name+"-app:base", "build log %s does not show the base built", first.LogPath)
	assert.Contains(t, string(logData), "Loaded image: "+first.Image, "build log %s does not show the image loaded", first.LogPath)

	s.Env["APP_IMAGE"] = first.Image
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var progress []string
	err = e.Up(ctx, s, docker.UpOptions{
		Timeout:  time.Minute,
		Progress: func(l string) { progress = append(progress, l) },
		Ready: map[string]func(context.Context) bool{"app": func(context.Context) bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}},
	})
	require.NoError(t, err, "up")
	assert.Contains(t, strings.Join(progress, "\n"), "app ready", "progress lacks the app becoming ready:\n%s", strings.Join(progress, "\n"))
	code, body := dockertest.Get(t, base+"/")
	require.Equal(t, 200, code, "GET / = %d %q", code, body)
	require.Contains(t, body, "hello from tiny", "GET /")
	code, _ = dockertest.Get(t, base+"/notes?text=kept-across-down")
	require.Equal(t, 200, code, "GET /notes")
	resp, err := http.Post(base+"/notes?text=kept-across-down", "text/plain", nil)
	require.NoError(t, err, "POST /notes")
	require.Equal(t, 200, resp.StatusCode, "POST /notes")
	resp.Body.Close()

	progress = nil
	require.NoError(t, e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute, Progress: func(l string) { progress = append(progress, l) }}), "up again")
	assert.Contains(t, progress, "containers up to date", "an up with nothing changed did not skip compose:\n%s", strings.Join(progress, "\n"))

	services, err := e.Services(ctx, s)
	require.NoError(t, err)
	var app docker.Service
	for _, svc := range services {
		if svc.Service == "app" {
			app = svc
		}
		if svc.Service == "migrate" {
			assert.Equal(t, "exited", svc.State, "migrate's state")
			assert.Equal(t, 0, svc.ExitCode, "migrate's exit code")
		}
	}
	require.Equal(t, "running", app.State, "app service = %+v", app)
	require.Len(t, app.Ports, 1, "app service = %+v, want it published on 127.0.0.1:%d", app, port)
	require.Equal(t, port, app.Ports[0].HostPort, "app's published port")
	require.Equal(t, "127.0.0.1", app.Ports[0].HostIP, "app's published address")

	out.Reset()
	code, err = e.Exec(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "migrate", "status"}})
	require.NoError(t, err, "exec migrate status")
	require.Equal(t, 0, code, "exec migrate status; output %q", out.String())
	require.Contains(t, out.String(), "schema at version 1", "exec migrate status")
	code, err = e.Exec(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "frobnicate"}})
	require.NoError(t, err, "exec of an unknown subcommand")
	require.Equal(t, 2, code, "exec of an unknown subcommand: want the app's own exit code 2")

	var logs sink
	require.NoError(t, e.Logs(ctx, s, docker.LogOptions{Services: []string{"app"}, Tail: "all"}, &logs))
	assert.Contains(t, logs.String(), "app-1|request GET /", "logs lack the request:\n%s", logs.String())

	require.NoError(t, e.Down(ctx, s, docker.DownOptions{}), "down")
	left, _ := e.Services(ctx, s)
	require.Empty(t, left, "containers left after down")

	// A one-off container runs with the stack down, on the same volume,
	// without taking the app's port.
	hold, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	out.Reset()
	code, err = e.Run(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "migrate", "status"}})
	hold.Close()
	require.NoError(t, err, "one-off migrate status")
	require.Equal(t, 0, code, "one-off migrate status; output %q", out.String())
	require.Contains(t, out.String(), "schema at version 1", "one-off migrate status")
	code, err = e.Run(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "frobnicate"}})
	require.NoError(t, err, "one-off unknown subcommand")
	require.Equal(t, 2, code, "one-off unknown subcommand")

	require.NoError(t, e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute}), "second up")
	_, body = dockertest.Get(t, base+"/notes")
	require.Contains(t, body, "kept-across-down", "data lost across down/up")

	// A new image replaces the running containers.
	dockerfile := filepath.Join(s.Dir, "Dockerfile")
	df, _ := os.ReadFile(dockerfile)
	os.WriteFile(dockerfile, append(df, "LABEL changed=yes\n"...), 0o644)
	second := build(t, e, s, appbuild.Options{})
	// A Dockerfile ending otherwise is built whole, and the build adds no
	// step of its own after the Dockerfile's last (a label passed with the
	// build would be one, a container on every code change).
	logData, _ = os.ReadFile(second.LogPath)
	steps := regexp.MustCompile(`(?m)^Step \d+/\d+ : (.*)$`).FindAllStringSubmatch(string(logData), -1)
	if assert.NotEmpty(t, steps, "the whole build logged no steps:\n%s", logData) {
		assert.Equal(t, "LABEL changed=yes", steps[len(steps)-1][1], "the whole build's last step is not the Dockerfile's last instruction:\n%s", logData)
	}
	assert.Contains(t, string(logData), "Successfully tagged "+second.Image)
	s.Env["APP_IMAGE"] = second.Image
	progress = nil
	require.NoError(t, e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute, Progress: func(l string) { progress = append(progress, l) }}), "up with a new image")
	assert.NotContains(t, progress, "containers up to date", "a new image was taken for nothing changed")
	services, _ = e.Services(ctx, s)
	for _, svc := range services {
		assert.Equal(t, second.Image, svc.Image, "%s runs %s after up with %s", svc.Service, svc.Image, second.Image)
	}
	services, _ = e.Services(ctx, s)
	for _, svc := range services {
		if svc.Service == "app" {
			assert.Equal(t, "healthy", svc.Health, "app health after waiting up")
		}
	}

	require.NoError(t, e.Down(ctx, s, docker.DownOptions{Volumes: true}), "down --volumes")
	removed, err := e.Destroy(ctx, s.Name)
	require.NoError(t, err)
	assert.NotEmpty(t, removed.Images, "destroy removed no image: %+v", removed)
	for _, img := range []string{first.Image, s.Name + "-app:" + docker.BaseTag} {
		ok, _ := e.ImageExists(ctx, img)
		assert.False(t, ok, "image %s survived destroy", img)
	}
}

// The base image is built once and then reused while the engine has it;
// once it is gone (destroy), the next build makes it again.
func TestBuildReusesTheBaseImage(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	first := build(t, e, s, appbuild.Options{})
	main := filepath.Join(s.Dir, "cmd", s.Name, "main.go")
	src, err := os.ReadFile(main)
	require.NoError(t, err)
	os.WriteFile(main, append(src, "\nfunc init() { _ = os.Getenv(\"TINY_SECOND_BUILD\") }\n"...), 0o644)
	second := build(t, e, s, appbuild.Options{})
	require.True(t, second.Built, "a changed binary reused image %s", second.Image)
	require.NotEqual(t, first.Image, second.Image, "a changed binary gave the first image")
	logData, _ := os.ReadFile(second.LogPath)
	assert.Contains(t, string(logData), "is up to date (", "the second build did not reuse the base image")
	assert.NotContains(t, string(logData), "$ build base image", "the second build did not reuse the base image")

	_, err = e.Destroy(context.Background(), s.Name)
	require.NoError(t, err)
	third := build(t, e, s, appbuild.Options{})
	logData, _ = os.ReadFile(third.LogPath)
	assert.True(t, third.Built, "after destroy the build reused an image")
	assert.Contains(t, string(logData), "$ build base image", "after destroy the build did not make the base image again")
	assert.Contains(t, string(logData), "Loaded image: "+third.Image, "after destroy the build did not load the image")
}

// A project whose Dockerfile lost its LABEL line still has its images
// labelled, so that prune and destroy find them.
func TestBuildLabelsImageWithoutDockerfileLabel(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	dockerfile := filepath.Join(s.Dir, "Dockerfile")
	df, err := os.ReadFile(dockerfile)
	require.NoError(t, err)
	stripped := regexp.MustCompile(`(?m)^LABEL .*\n`).ReplaceAll(df, nil)
	require.False(t, bytes.Equal(stripped, df), "the skeleton's Dockerfile has no LABEL line to take out")
	os.WriteFile(dockerfile, stripped, 0o644)
	res := build(t, e, s, appbuild.Options{})
	removed, err := e.Destroy(context.Background(), s.Name)
	require.NoError(t, err)
	ok, _ := e.ImageExists(context.Background(), res.Image)
	assert.False(t, ok, "destroy did not find the image built without the Dockerfile's label")
	assert.NotEmpty(t, removed.Images, "destroy did not find the image built without the Dockerfile's label (removed %+v)", removed)
}

// With the stack down, a one-off run needs the image built; without it the
// error says how to make it.
func TestRunWithoutImageSaysBuild(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	_, err := e.Run(context.Background(), s, docker.Command{Service: "app", Args: []string{"/app", "migrate", "status"}})
	var missing *docker.ImageMissingError
	require.ErrorAs(t, err, &missing, "run without an image")
	require.Equal(t, s.Name+"-app:latest", missing.Image, "run without an image")
	assert.Contains(t, err.Error(), "quickscale build", "error does not say how to build the image: %s", err)
	left, _ := e.Services(context.Background(), s)
	assert.Empty(t, left, "a refused run left containers")
}

func TestUpNamesCrashingServiceWithItsLogs(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t, "TINY_CRASH=1")
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	err := e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute})
	var failed *docker.ServiceFailedError
	require.ErrorAs(t, err, &failed, "up = %v, want ServiceFailedError", err)
	assert.Equal(t, "app", failed.Service, "the error names another service")
	assert.Contains(t, err.Error(), "TINY_CRASH is set", "the error lacks the app's last log line")
}

func TestUpReportsFailedMigration(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t, "TINY_FAIL_MIGRATE=1")
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	err := e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute})
	var failed *docker.ServiceFailedError
	require.ErrorAs(t, err, &failed, "up")
	require.Equal(t, "migrate", failed.Service, "up = %v, want ServiceFailedError for migrate", err)
	assert.Contains(t, err.Error(), "migration 0002 failed", "error lacks migrate's log line:\n%s", err)
}

func TestUpRefusesBusyPort(t *testing.T) {
	e := connect(t, nil)
	s, port := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	hold, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	defer hold.Close()
	err = e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute})
	var busy *docker.PortBusyError
	require.ErrorAs(t, err, &busy, "up")
	require.Equal(t, port, busy.Port, "up = %v, want PortBusyError for %d", err, port)
	assert.Contains(t, err.Error(), "--port", "error does not say how to choose another port")
	assert.Contains(t, err.Error(), "APP_PORT", "error does not say how to choose another port")
	left, _ := e.Services(context.Background(), s)
	assert.Empty(t, left, "a refused up left containers")
}

func TestUpInterruptedLeavesNoContainers(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel as soon as compose reports its first container: mid-up, the
	// way Ctrl-C lands.
	err := e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute, Progress: func(line string) {
		if strings.HasPrefix(line, "Container ") {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled, "interrupted up = %v, want context.Canceled", err)
	left, _ := e.Services(context.Background(), s)
	require.Empty(t, left, "interrupted up left containers")
	require.NoError(t, e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute}), "up after an interrupted up")
}

func TestBuildPrunesOldImages(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	dockerfile := filepath.Join(s.Dir, "Dockerfile")
	orig, err := os.ReadFile(dockerfile)
	require.NoError(t, err)
	var images []string
	for i := range appbuild.KeepImages + 2 {
		// Each Dockerfile differs, so each build makes a new image.
		os.WriteFile(dockerfile, fmt.Appendf(slices.Clone(orig), "LABEL build.number=%d\n", i), 0o644)
		res := build(t, e, s, appbuild.Options{})
		require.True(t, res.Built, "build %d reused an image", i)
		images = append(images, res.Image)
		time.Sleep(time.Second) // image creation times have second resolution
	}
	for i, img := range images {
		ok, err := e.ImageExists(context.Background(), img)
		require.NoError(t, err)
		kept := i >= len(images)-appbuild.KeepImages
		assert.Equal(t, kept, ok, "image %d (%s) exists: keep the newest %d", i, img, appbuild.KeepImages)
	}
}

func TestBuildReportsCompileErrors(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	main := filepath.Join(s.Dir, "cmd", s.Name, "main.go")
	src, _ := os.ReadFile(main)
	os.WriteFile(main, append(src, []byte("\nfunc broken() { undefinedThing() }\n")...), 0o644)
	b := &appbuild.Builder{Engine: e, Root: s.Dir, Name: s.Name}
	_, err := b.Build(context.Background(), appbuild.Options{})
	var ce *appbuild.CompileError
	require.ErrorAs(t, err, &ce, "build = %v, want CompileError", err)
	require.NotEmpty(t, ce.First, "compile error lacks the compiler line:\n%s", err)
	assert.Contains(t, ce.First[0], "undefined: undefinedThing", "compile error lacks the compiler line")
	assert.Contains(t, err.Error(), ce.LogPath, "compile error lacks the log path")
	ok, _ := e.ImageExists(context.Background(), appbuild.ImageRepository(s.Name)+":latest")
	assert.False(t, ok, "a failed compile produced an image")
}
