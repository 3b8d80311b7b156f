package docker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

	"github.com/quickscale/quickscale/internal/docker"
	"github.com/quickscale/quickscale/internal/docker/appbuild"
	"github.com/quickscale/quickscale/internal/docker/dockertest"
	"github.com/quickscale/quickscale/templates"
)

// connect returns the real engine; these tests drive it. -short skips
// them; otherwise a missing engine fails them (scripts/start-dockerd starts
// one), as it fails `make test`.
func connect(t *testing.T, out io.Writer) *docker.Compose {
	t.Helper()
	if testing.Short() {
		t.Skip("drives the Docker Engine; skipped with -short")
	}
	if out == nil {
		out = io.Discard
	}
	e, err := docker.Connect(docker.Streams{In: strings.NewReader(""), Out: out, ErrOut: out})
	if err != nil {
		t.Fatal(err)
	}
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
	src := "testdata/tiny"
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
	if err != nil {
		t.Fatal(err)
	}
	for tmpl, out := range map[string]string{"Dockerfile.tmpl": "Dockerfile", "compose.yaml.tmpl": "compose.yaml"} {
		src, err := fs.ReadFile(templates.Skeleton, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		tp := template.Must(template.New(tmpl).Option("missingkey=error").Parse(string(src)))
		var buf bytes.Buffer
		if err := tp.Execute(&buf, map[string]any{"Name": name, "DB": "sqlite"}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, out), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := dockertest.FreePort(t)
	dotenv := fmt.Sprintf("APP_PORT=%d\n%s\n", port, strings.Join(env, "\n"))
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	return docker.Stack{Name: name, Dir: dir, Env: map[string]string{}}, port
}

// destroyAtEnd removes whatever the test made, even when it fails midway.
func destroyAtEnd(t *testing.T, e docker.Engine, name string) {
	t.Cleanup(func() {
		if _, err := e.Destroy(context.Background(), name); err != nil {
			t.Errorf("destroy %s: %v", name, err)
		}
	})
}

func build(t *testing.T, e docker.Engine, s docker.Stack, opts appbuild.Options) appbuild.Result {
	t.Helper()
	b := &appbuild.Builder{Engine: e, Root: s.Dir, Name: s.Name}
	res, err := b.Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
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
	if info.ServerVersion == "" || info.APIVersion == "" || info.Arch == "" {
		t.Fatalf("incomplete engine info: %+v", info)
	}
}

func TestConnectNamesTheSocketWhenNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nothing.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	t.Setenv("DOCKER_CONTEXT", "")
	_, err := docker.Connect(docker.Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	var unreachable *docker.UnreachableError
	if !errors.As(err, &unreachable) {
		t.Fatalf("Connect = %v, want UnreachableError", err)
	}
	for _, want := range []string{sock, "quickscale check"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConnectNamesAnUnknownContext(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST") // DOCKER_HOST would override the context
	t.Setenv("DOCKER_CONTEXT", "no-such-context")
	_, err := docker.Connect(docker.Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "no-such-context") || !strings.Contains(err.Error(), "docker context ls") {
		t.Errorf("Connect with an unknown context = %v, want it named with the fix", err)
	}
}

func TestConnectRefusesTooOldEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", dockertest.OldEngine(t))
	_, err := docker.Connect(docker.Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	var old *docker.TooOldError
	if !errors.As(err, &old) {
		t.Fatalf("Connect = %v, want TooOldError", err)
	}
	if old.APIVersion != "1.40" || !strings.Contains(err.Error(), "20.10") {
		t.Errorf("error %q should name API 1.40 and the 20.10 minimum", err)
	}
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
	if !first.Built {
		t.Fatal("first build reused an image")
	}
	again := build(t, e, s, appbuild.Options{})
	if again.Built || again.Image != first.Image {
		t.Fatalf("unchanged tree: built=%v image=%s, want the existing %s reused", again.Built, again.Image, first.Image)
	}
	logData, err := os.ReadFile(first.LogPath)
	// The skeleton's Dockerfile ends with the binary's COPY: the builder
	// makes the base, the binary's layer is loaded onto it.
	if err != nil || !strings.Contains(string(logData), "Successfully tagged "+s.Name+"-app:base") ||
		!strings.Contains(string(logData), "Loaded image: "+first.Image) {
		t.Errorf("build log %s does not show the base built and the image loaded: %v\n%s", first.LogPath, err, logData)
	}

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
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if !strings.Contains(strings.Join(progress, "\n"), "app ready") {
		t.Errorf("progress lacks the app becoming ready:\n%s", strings.Join(progress, "\n"))
	}
	if code, body := dockertest.Get(t, base+"/"); code != 200 || !strings.Contains(body, "hello from tiny") {
		t.Fatalf("GET / = %d %q", code, body)
	}
	if code, _ := dockertest.Get(t, base+"/notes?text=kept-across-down"); code != 200 {
		t.Fatalf("GET /notes = %d", code)
	}
	resp, err := http.Post(base+"/notes?text=kept-across-down", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /notes: %v %v", err, resp)
	}
	resp.Body.Close()

	progress = nil
	if err := e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute, Progress: func(l string) { progress = append(progress, l) }}); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if !slices.Contains(progress, "containers up to date") {
		t.Errorf("an up with nothing changed did not skip compose:\n%s", strings.Join(progress, "\n"))
	}

	services, err := e.Services(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var app docker.Service
	for _, svc := range services {
		if svc.Service == "app" {
			app = svc
		}
		if svc.Service == "migrate" && (svc.State != "exited" || svc.ExitCode != 0) {
			t.Errorf("migrate: state %s exit %d, want exited 0", svc.State, svc.ExitCode)
		}
	}
	if app.State != "running" || len(app.Ports) != 1 || app.Ports[0].HostPort != port || app.Ports[0].HostIP != "127.0.0.1" {
		t.Fatalf("app service = %+v, want running and published on 127.0.0.1:%d", app, port)
	}

	out.Reset()
	code, err := e.Exec(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "migrate", "status"}})
	if err != nil || code != 0 || !strings.Contains(out.String(), "schema at version 1") {
		t.Fatalf("exec migrate status = %d, %v; output %q", code, err, out.String())
	}
	code, err = e.Exec(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "frobnicate"}})
	if err != nil || code != 2 {
		t.Fatalf("exec of an unknown subcommand = %d, %v; want the app's own exit code 2", code, err)
	}

	var logs sink
	if err := e.Logs(ctx, s, docker.LogOptions{Services: []string{"app"}, Tail: "all"}, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "app-1|request GET /") {
		t.Errorf("logs lack the request:\n%s", logs.String())
	}

	if err := e.Down(ctx, s, docker.DownOptions{}); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left, _ := e.Services(ctx, s); len(left) != 0 {
		t.Fatalf("containers left after down: %+v", left)
	}

	// A one-off container runs with the stack down, on the same volume,
	// without taking the app's port.
	hold, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code, err = e.Run(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "migrate", "status"}})
	hold.Close()
	if err != nil || code != 0 || !strings.Contains(out.String(), "schema at version 1") {
		t.Fatalf("one-off migrate status = %d, %v; output %q", code, err, out.String())
	}
	code, err = e.Run(ctx, s, docker.Command{Service: "app", Args: []string{"/app", "frobnicate"}})
	if err != nil || code != 2 {
		t.Fatalf("one-off unknown subcommand = %d, %v; want 2", code, err)
	}

	if err := e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute}); err != nil {
		t.Fatalf("second up: %v", err)
	}
	if _, body := dockertest.Get(t, base+"/notes"); !strings.Contains(body, "kept-across-down") {
		t.Fatalf("data lost across down/up: notes = %q", body)
	}

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
	if len(steps) == 0 || steps[len(steps)-1][1] != "LABEL changed=yes" || !strings.Contains(string(logData), "Successfully tagged "+second.Image) {
		t.Errorf("the whole build's last step is not the Dockerfile's last instruction:\n%s", logData)
	}
	s.Env["APP_IMAGE"] = second.Image
	progress = nil
	if err := e.Up(ctx, s, docker.UpOptions{Timeout: time.Minute, Progress: func(l string) { progress = append(progress, l) }}); err != nil {
		t.Fatalf("up with a new image: %v", err)
	}
	if slices.Contains(progress, "containers up to date") {
		t.Error("a new image was taken for nothing changed")
	}
	services, _ = e.Services(ctx, s)
	for _, svc := range services {
		if svc.Image != second.Image {
			t.Errorf("%s runs %s after up with %s", svc.Service, svc.Image, second.Image)
		}
	}
	services, _ = e.Services(ctx, s)
	for _, svc := range services {
		if svc.Service == "app" && svc.Health != "healthy" {
			t.Errorf("app health after waiting up = %q, want healthy", svc.Health)
		}
	}

	if err := e.Down(ctx, s, docker.DownOptions{Volumes: true}); err != nil {
		t.Fatalf("down --volumes: %v", err)
	}
	removed, err := e.Destroy(ctx, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed.Images) == 0 {
		t.Errorf("destroy removed no image: %+v", removed)
	}
	for _, img := range []string{first.Image, s.Name + "-app:" + docker.BaseTag} {
		if ok, _ := e.ImageExists(ctx, img); ok {
			t.Errorf("image %s survived destroy", img)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(main, append(src, "\nfunc init() { _ = os.Getenv(\"TINY_SECOND_BUILD\") }\n"...), 0o644)
	second := build(t, e, s, appbuild.Options{})
	if !second.Built || second.Image == first.Image {
		t.Fatalf("a changed binary gave image %s (built %v), first was %s", second.Image, second.Built, first.Image)
	}
	logData, _ := os.ReadFile(second.LogPath)
	if !strings.Contains(string(logData), "is up to date (") || strings.Contains(string(logData), "$ build base image") {
		t.Errorf("the second build did not reuse the base image:\n%s", logData)
	}

	if _, err := e.Destroy(context.Background(), s.Name); err != nil {
		t.Fatal(err)
	}
	third := build(t, e, s, appbuild.Options{})
	logData, _ = os.ReadFile(third.LogPath)
	if !third.Built || !strings.Contains(string(logData), "$ build base image") || !strings.Contains(string(logData), "Loaded image: "+third.Image) {
		t.Errorf("after destroy the build did not make the base image again:\n%s", logData)
	}
}

// A project whose Dockerfile lost its LABEL line still has its images
// labelled, so that prune and destroy find them.
func TestBuildLabelsImageWithoutDockerfileLabel(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	dockerfile := filepath.Join(s.Dir, "Dockerfile")
	df, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(`(?m)^LABEL .*\n`).ReplaceAll(df, nil)
	if bytes.Equal(stripped, df) {
		t.Fatal("the skeleton's Dockerfile has no LABEL line to take out")
	}
	os.WriteFile(dockerfile, stripped, 0o644)
	res := build(t, e, s, appbuild.Options{})
	removed, err := e.Destroy(context.Background(), s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.ImageExists(context.Background(), res.Image); ok || len(removed.Images) == 0 {
		t.Errorf("destroy did not find the image built without the Dockerfile's label (removed %+v)", removed)
	}
}

// With the stack down, a one-off run needs the image built; without it the
// error says how to make it.
func TestRunWithoutImageSaysBuild(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	_, err := e.Run(context.Background(), s, docker.Command{Service: "app", Args: []string{"/app", "migrate", "status"}})
	var missing *docker.ImageMissingError
	if !errors.As(err, &missing) || missing.Image != s.Name+"-app:latest" {
		t.Fatalf("run without an image = %v, want ImageMissingError for %s-app:latest", err, s.Name)
	}
	if !strings.Contains(err.Error(), "quickscale build") {
		t.Errorf("error does not say how to build the image: %s", err)
	}
	if left, _ := e.Services(context.Background(), s); len(left) != 0 {
		t.Errorf("a refused run left containers: %+v", left)
	}
}

func TestUpNamesCrashingServiceWithItsLogs(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t, "TINY_CRASH=1")
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	err := e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute})
	var failed *docker.ServiceFailedError
	if !errors.As(err, &failed) {
		t.Fatalf("up = %v, want ServiceFailedError", err)
	}
	if failed.Service != "app" || !strings.Contains(err.Error(), "TINY_CRASH is set") {
		t.Errorf("error names %q and reads:\n%s\nwant the app and its last log line", failed.Service, err)
	}
}

func TestUpReportsFailedMigration(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t, "TINY_FAIL_MIGRATE=1")
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	err := e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute})
	var failed *docker.ServiceFailedError
	if !errors.As(err, &failed) || failed.Service != "migrate" {
		t.Fatalf("up = %v, want ServiceFailedError for migrate", err)
	}
	if !strings.Contains(err.Error(), "migration 0002 failed") {
		t.Errorf("error lacks migrate's log line:\n%s", err)
	}
}

func TestUpRefusesBusyPort(t *testing.T) {
	e := connect(t, nil)
	s, port := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	s.Env["APP_IMAGE"] = build(t, e, s, appbuild.Options{}).Image
	hold, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	err = e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute})
	var busy *docker.PortBusyError
	if !errors.As(err, &busy) || busy.Port != port {
		t.Fatalf("up = %v, want PortBusyError for %d", err, port)
	}
	if !strings.Contains(err.Error(), "--port") || !strings.Contains(err.Error(), "APP_PORT") {
		t.Errorf("error does not say how to choose another port: %s", err)
	}
	if left, _ := e.Services(context.Background(), s); len(left) != 0 {
		t.Errorf("a refused up left containers: %+v", left)
	}
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
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted up = %v, want context.Canceled", err)
	}
	if left, _ := e.Services(context.Background(), s); len(left) != 0 {
		t.Fatalf("interrupted up left containers: %+v", left)
	}
	if err := e.Up(context.Background(), s, docker.UpOptions{Timeout: time.Minute}); err != nil {
		t.Fatalf("up after an interrupted up: %v", err)
	}
}

func TestBuildPrunesOldImages(t *testing.T) {
	e := connect(t, nil)
	s, _ := tinyProject(t)
	destroyAtEnd(t, e, s.Name)
	dockerfile := filepath.Join(s.Dir, "Dockerfile")
	orig, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for i := range appbuild.KeepImages + 2 {
		// Each Dockerfile differs, so each build makes a new image.
		os.WriteFile(dockerfile, fmt.Appendf(slices.Clone(orig), "LABEL build.number=%d\n", i), 0o644)
		res := build(t, e, s, appbuild.Options{})
		if !res.Built {
			t.Fatalf("build %d reused an image", i)
		}
		images = append(images, res.Image)
		time.Sleep(time.Second) // image creation times have second resolution
	}
	for i, img := range images {
		ok, err := e.ImageExists(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if kept := i >= len(images)-appbuild.KeepImages; ok != kept {
			t.Errorf("image %d (%s) exists=%v, want %v: keep the newest %d", i, img, ok, kept, appbuild.KeepImages)
		}
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
	if !errors.As(err, &ce) {
		t.Fatalf("build = %v, want CompileError", err)
	}
	if len(ce.First) == 0 || !strings.Contains(ce.First[0], "undefined: undefinedThing") || !strings.Contains(err.Error(), ce.LogPath) {
		t.Fatalf("compile error lacks the compiler line or the log path:\n%s", err)
	}
	if ok, _ := e.ImageExists(context.Background(), appbuild.ImageRepository(s.Name)+":latest"); ok {
		t.Error("a failed compile produced an image")
	}
}
