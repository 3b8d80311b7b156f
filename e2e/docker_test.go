package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/docker/dockertest"
)

// localPostgresImage is built from Debian's packages by
// testdata/postgres-image/build: no registry is needed. It honours the
// official image's environment contract, so the postgres preset's
// compose.yaml runs it unchanged through POSTGRES_IMAGE.
const localPostgresImage = "quickscale/postgres:15-local"

var postgresImage = sync.OnceValue(func() error {
	cmd := exec.Command(filepath.Join(moduleRoot, "e2e", "testdata", "postgres-image", "build"), localPostgresImage)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build %s with e2e/testdata/postgres-image/build (needs root, debootstrap and Docker): %v\n%s", localPostgresImage, err, out)
	}
	return nil
})

// requireDocker fails the test when no engine answers: the Docker tests are
// part of `make test`, never silently skipped.
func requireDocker(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	require.NoError(t, err, "the Docker tests need a running Docker Engine (scripts/start-dockerd starts one)\n%s", out)
}

// destroyAtEnd removes the project's Docker resources when a test ends,
// passed or failed. It cannot use runQuickscale: t.Context() is already
// cancelled when clean-ups run.
func destroyAtEnd(t *testing.T, dir string) {
	cmd := exec.Command(quickscaleBin, "destroy", "--yes")
	cmd.Dir = dir
	cmd.Env = append(withoutQuickscaleVars(goEnv()), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "clean-up: quickscale destroy --yes in %s\n%s", dir, out)
}

// timing collects the figures the timing report prints.
type timing struct {
	mu      sync.Mutex
	samples map[string][]float64
	units   map[string]string
}

var report = &timing{samples: map[string][]float64{}, units: map[string]string{}}

func (r *timing) add(name, unit string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[name] = append(r.samples[name], v)
	r.units[name] = unit
}

func (r *timing) log(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for n := range r.samples {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("timing report (median of the samples):\n")
	for _, n := range names {
		s := slices.Clone(r.samples[n])
		slices.Sort(s)
		fmt.Fprintf(&b, "  %-40s %8.2f %-3s (n=%d, %v)\n", n, s[len(s)/2], r.units[n], len(s), s)
	}
	t.Log(b.String())
}

// qs runs quickscale in dir and fails the test unless it exits with want.
func qs(t *testing.T, dir string, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runQuickscale(t, dir, nil, args...)
	require.Equal(t, want, code, "quickscale %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	return stdout, stderr
}

// timed runs quickscale and records how long it took.
func timed(t *testing.T, name, dir string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, _ := qs(t, dir, 0, args...)
	report.add(name, "s", time.Since(start).Seconds())
	return out
}

// setDotEnv rewrites variables in the project's .env.
func setDotEnv(t *testing.T, dir string, vars map[string]string) {
	t.Helper()
	path := filepath.Join(dir, ".env")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	done := map[string]bool{}
	for i, l := range lines {
		k, _, ok := strings.Cut(l, "=")
		if v, set := vars[k]; ok && set {
			lines[i] = k + "=" + v
			done[k] = true
		}
	}
	for k, v := range vars {
		if !done[k] {
			lines = append(lines, k+"="+v)
		}
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}

// labelled lists the engine's resources of a kind carrying a label.
func labelled(t *testing.T, kind, label string) []string {
	t.Helper()
	var args []string
	switch kind {
	case "container":
		args = []string{"ps", "-a", "-q"}
	case "image":
		args = []string{"images", "-q"}
	default:
		args = []string{kind, "ls", "-q"}
	}
	out, err := exec.Command("docker", append(args, "--filter", "label="+label)...).CombinedOutput()
	require.NoError(t, err, "docker %s\n%s", strings.Join(args, " "), out)
	return strings.Fields(string(out))
}

// leftovers lists everything of the project still in the engine.
func leftovers(t *testing.T, project string) []string {
	t.Helper()
	var left []string
	for _, kind := range []string{"container", "volume", "network", "image"} {
		for _, label := range []string{"dev.quickscale.project=" + project, "com.docker.compose.project=" + project} {
			for _, id := range labelled(t, kind, label) {
				left = append(left, kind+" "+id)
			}
		}
	}
	return left
}

// postContact submits the contact form the way a browser on the site does.
func postContact(t *testing.T, base, message string) {
	t.Helper()
	form := url.Values{"name": {"E2E Tester"}, "email": {"e2e@example.com"}, "message": {message}}
	req, err := http.NewRequest(http.MethodPost, base+"/contact", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "POST /contact = %d, want 303 (stored)\n%s", resp.StatusCode, body)
}

// storedMessage reports whether the database holds the message, read from
// the database itself, not through the app.
func storedMessage(t *testing.T, project, preset, message string, env map[string]string) bool {
	t.Helper()
	if preset == "postgres" {
		out, err := exec.Command("docker", "exec", project+"-db-1", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"],
			"-tAc", "SELECT count(*) FROM contact_messages WHERE body = '"+message+"'").CombinedOutput()
		require.NoError(t, err, "query PostgreSQL\n%s", out)
		return strings.TrimSpace(string(out)) == "1"
	}
	// The SQLite files (database and WAL) from the data volume, as a tar.
	out, err := exec.Command("docker", "cp", project+"-app-1:/data", "-").Output()
	require.NoError(t, err, "docker cp the SQLite files")
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false
		}
		require.NoError(t, err)
		b, _ := io.ReadAll(tr)
		if strings.HasPrefix(filepath.Base(h.Name), "app.db") && bytes.Contains(b, []byte(message)) {
			return true
		}
	}
}

// waitHealthy polls `quickscale ps --json` until the app is healthy: the
// engine runs its first health check one interval after the start.
func waitHealthy(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := qs(t, dir, 0, "ps", "--json")
		var services []struct {
			Service, State, Health string
		}
		require.NoError(t, json.Unmarshal([]byte(out), &services), "ps --json is not JSON\n%s", out)
		for _, s := range services {
			if s.Service == "app" && s.State == "running" && s.Health == "healthy" {
				table, _ := qs(t, dir, 0, "ps")
				require.True(t, regexpHealthyApp(table), "ps table does not show the app healthy:\n%s", table)
				return
			}
		}
		require.False(t, time.Now().After(deadline), "the app is not healthy after 60s:\n%s", out)
		time.Sleep(time.Second)
	}
}

func regexpHealthyApp(table string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "app" && f[1] == "running" && f[2] == "healthy" {
			return true
		}
	}
	return false
}

// dockerProject generates a project like initProject, under a name of its
// own: Docker names are global to the engine, and another test run on the
// same machine must not share this run's containers and volumes.
func dockerProject(t *testing.T, preset string) string {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	name := "e2e-" + preset + "-" + hex.EncodeToString(b[:])
	parent := t.TempDir()
	stdout, stderr, code := runQuickscale(t, parent, nil, "init", name, "--no-input", "--db", preset, "--dir", parent)
	require.Equal(t, 0, code, "quickscale init %s --db %s exited %d\nstdout:\n%s\nstderr:\n%s", name, preset, code, stdout, stderr)
	return filepath.Join(parent, name)
}

func randomMarker() string {
	var b [6]byte
	rand.Read(b[:])
	return "kept-across-down-" + hex.EncodeToString(b[:])
}

// TestDockerLifecycle is the acceptance path for each preset: init, check,
// build, up, a request, logs, the build log, manage, ps, down, up with the
// data kept, the project's own e2e suite, destroy with nothing left.
func TestDockerLifecycle(t *testing.T) {
	requireDocker(t)
	t.Cleanup(func() { report.log(t) })
	for _, preset := range []string{"sqlite", "postgres"} {
		t.Run(preset, func(t *testing.T) { testLifecycle(t, preset) })
	}
}

func testLifecycle(t *testing.T, preset string) {
	dir := dockerProject(t, preset)
	name := filepath.Base(dir)
	t.Cleanup(func() { destroyAtEnd(t, dir) })

	port := dockertest.FreePort(t)
	vars := map[string]string{"APP_PORT": strconv.Itoa(port), "BASE_URL": "http://localhost:" + strconv.Itoa(port)}
	if preset == "postgres" {
		require.NoError(t, postgresImage())
		vars["POSTGRES_IMAGE"] = localPostgresImage
		vars["POSTGRES_PORT"] = strconv.Itoa(dockertest.FreePort(t))
	}
	setDotEnv(t, dir, vars)
	env := readDotEnv(t, dir)
	base := "http://localhost:" + strconv.Itoa(port)

	out, _ := qs(t, dir, 0, "check")
	for _, want := range []string{"Docker", appcontract.GoToolchain, strconv.Itoa(port) + " (APP_PORT) is free"} {
		assert.Contains(t, out, want, "check output lacks %q:\n%s", want, out)
	}

	out = timed(t, "cold build ("+preset+")", dir, "build")
	require.Contains(t, out, "Built "+name+"-app:", "build output: %s", out)

	out = timed(t, "first up ("+preset+")", dir, "up")
	assert.Contains(t, out, base+"/", "up does not print the app URL %s:\n%s", base, out)
	code, body := dockertest.Get(t, base+"/")
	require.Equal(t, http.StatusOK, code, "GET / through the published port\n%s", body)

	logs, _ := qs(t, dir, 0, "logs", "app")
	assert.Contains(t, logs, "method=GET path=/ status=200", "logs app does not show the request:\n%s", logs)
	code, out = interrupt(t, dir, "app-1", "logs", "-f")
	assert.Equal(t, 0, code, "Ctrl-C must end logs -f with exit code 0\n%s", out)
	buildLog, _ := qs(t, dir, 0, "logs", "--build")
	assert.Contains(t, buildLog, "go build -trimpath", "logs --build does not show the build output:\n%s", buildLog)

	status, _ := qs(t, dir, 0, "manage", "migrate", "status")
	assert.Contains(t, status, "0001", "manage migrate status:\n%s", status)
	admin, adminErr, code := runQuickscale(t, dir, strings.NewReader("correct-horse-battery-staple-42\n"),
		"manage", "createadmin", "--email", "owner@example.com", "--password-stdin")
	assert.Equal(t, 0, code, "manage createadmin with the password on stdin:\n%s\n%s", admin, adminErr)
	assert.Contains(t, admin, "Created administrator owner@example.com", "manage createadmin with the password on stdin")

	waitHealthy(t, dir)

	marker := randomMarker()
	postContact(t, base, marker)

	qs(t, dir, 0, "down")
	require.Empty(t, labelled(t, "container", "dev.quickscale.project="+name), "containers left after down")
	timed(t, "up after down ("+preset+")", dir, "up")
	require.True(t, storedMessage(t, name, preset, marker, env), "the contact message posted before down is gone after up")

	// Timing: up with nothing changed, and after a one-line change that
	// alters the binary (an embedded page).
	for i := range 3 {
		timed(t, "up, nothing changed", dir, "up")
		line := fmt.Sprintf("e2e change %d", i)
		changeAboutPage(t, dir, line)
		timed(t, "up after a one-line change", dir, "up")
		code, body := dockertest.Get(t, base+"/about")
		require.Equal(t, http.StatusOK, code, "after up, GET /about")
		require.Contains(t, body, line, "after up, GET /about lacks the changed line")
	}
	recordImageAndMemory(t, name)

	testOut, testErr := qs(t, dir, 0, "test", "--e2e")
	assert.Contains(t, testErr, "end-to-end: ", "test --e2e summary; stdout:\n%s", testOut)
	assert.Contains(t, testErr, "passed", "test --e2e summary; stdout:\n%s", testOut)

	qs(t, dir, 0, "destroy", "--yes")
	require.Empty(t, leftovers(t, name), "destroy left resources")
}

// changeAboutPage adds one line of text to the about page, inside its
// content block: a change to the binary (the page is embedded) that the
// served page shows.
func changeAboutPage(t testing.TB, dir, line string) {
	t.Helper()
	path := filepath.Join(dir, "internal", "views", "templates", "pages", "about.html")
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	end := bytes.LastIndex(page, []byte("{{end}}"))
	require.GreaterOrEqual(t, end, 0, "%s has no {{end}} to add a line before", path)
	changed := slices.Concat(page[:end], []byte("<p>"+line+"</p>\n"), page[end:])
	require.NoError(t, os.WriteFile(path, changed, 0o644))
}

// recordImageAndMemory adds the app image's size and the idle app
// container's memory to the timing report.
func recordImageAndMemory(t *testing.T, project string) {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format", "{{.Image}}", project+"-app-1").Output()
	require.NoError(t, err, "inspect the app container")
	size, err := exec.Command("docker", "image", "inspect", "--format", "{{.Size}}", strings.TrimSpace(string(out))).Output()
	require.NoError(t, err, "inspect the app image")
	if n, err := strconv.ParseFloat(strings.TrimSpace(string(size)), 64); err == nil {
		report.add("app image size", "MB", n/1e6)
	}
	time.Sleep(3 * time.Second) // idle: no request in flight
	mem, err := exec.Command("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", project+"-app-1").Output()
	require.NoError(t, err, "docker stats")
	used, _, _ := strings.Cut(string(mem), "/")
	used = strings.TrimSpace(used)
	for suffix, scale := range map[string]float64{"MiB": 1.048576, "KiB": 1.024e-3, "GiB": 1073.741824} {
		if v, ok := strings.CutSuffix(used, suffix); ok {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				report.add("app container idle memory", "MB", n*scale)
			}
		}
	}
}

// TestDockerFaults: each failure ends with a clear message, a non-zero
// exit, and a project that the next command recovers.
func TestDockerFaults(t *testing.T) {
	requireDocker(t)
	dir := dockerProject(t, "sqlite")
	name := filepath.Base(dir)
	t.Cleanup(func() { destroyAtEnd(t, dir) })
	port := dockertest.FreePort(t)
	setDotEnv(t, dir, map[string]string{"APP_PORT": strconv.Itoa(port), "BASE_URL": "http://localhost:" + strconv.Itoa(port)})

	t.Run("not inside a project", func(t *testing.T) {
		_, stderr := qs(t, t.TempDir(), 1, "up")
		assert.Contains(t, stderr, "not inside a quickscale project")
		assert.Contains(t, stderr, "quickscale init")
	})

	t.Run("no Docker daemon", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "docker.sock")
		t.Setenv("DOCKER_HOST", "unix://"+sock)
		_, stderr := qs(t, dir, 1, "up")
		assert.Contains(t, stderr, sock, "stderr does not name the socket")
		assert.Contains(t, stderr, "quickscale check", "stderr does not name `quickscale check`")
		out, _ := qs(t, dir, 1, "check")
		assert.Contains(t, out, sock, "check does not name the socket:\n%s", out)
	})

	t.Run("Docker context honoured", func(t *testing.T) {
		host, err := exec.Command("docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}").Output()
		require.NoError(t, err, "docker context inspect")
		// A second name for the engine's socket: only the context leads there.
		alias := filepath.Join(t.TempDir(), "alias.sock")
		require.NoError(t, os.Symlink(strings.TrimPrefix(strings.TrimSpace(string(host)), "unix://"), alias))
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		t.Setenv("DOCKER_HOST", "")
		os.Unsetenv("DOCKER_HOST") // it would override the context
		out, err := exec.Command("docker", "context", "create", "qs-e2e", "--docker", "host=unix://"+alias).CombinedOutput()
		require.NoError(t, err, "docker context create\n%s", out)
		t.Setenv("DOCKER_CONTEXT", "qs-e2e")
		check, _ := qs(t, dir, 0, "check")
		assert.Contains(t, check, "at unix://"+alias, "check does not use the context's engine")
		t.Setenv("DOCKER_CONTEXT", "no-such-context")
		_, stderr := qs(t, dir, 1, "ps")
		assert.Contains(t, stderr, "no-such-context", "an unknown context is not named")
		assert.Contains(t, stderr, "docker context ls", "an unknown context is not named with the fix")
	})

	t.Run("engine too old", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", dockertest.OldEngine(t))
		_, stderr := qs(t, dir, 1, "ps")
		assert.Contains(t, stderr, "1.40", "stderr does not name the old API")
		assert.Contains(t, stderr, "20.10", "stderr does not name the minimum")
	})

	t.Run("compile error", func(t *testing.T) {
		main := filepath.Join(dir, "cmd", name, "main.go")
		src, err := os.ReadFile(main)
		require.NoError(t, err)
		os.WriteFile(main, append(slices.Clone(src), "\nfunc broken() { undefinedThing() }\n"...), 0o644)
		_, stderr := qs(t, dir, 1, "build")
		os.WriteFile(main, src, 0o644)
		for _, want := range []string{"main.go:", "undefined: undefinedThing", ".quickscale/logs/build-"} {
			assert.Contains(t, stderr, want, "stderr lacks %q:\n%s", want, stderr)
		}
		qs(t, dir, 0, "build")
	})

	t.Run("busy port", func(t *testing.T) {
		hold, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		require.NoError(t, err)
		_, stderr := qs(t, dir, 1, "up")
		hold.Close()
		for _, want := range []string{strconv.Itoa(port), "--port", "APP_PORT"} {
			assert.Contains(t, stderr, want, "stderr lacks %q:\n%s", want, stderr)
		}
		assert.Empty(t, labelled(t, "container", "dev.quickscale.project="+name), "a refused up left containers")
	})

	t.Run("unknown manage subcommand", func(t *testing.T) {
		qs(t, dir, 0, "up")
		_, stderr := qs(t, dir, 2, "manage", "frobnicate", "--flag")
		assert.Contains(t, stderr, `unknown command "frobnicate"`, "the app's own message is missing:\n%s", stderr)
		qs(t, dir, 0, "down")
		_, stderr = qs(t, dir, 2, "manage", "frobnicate")
		assert.Contains(t, stderr, `unknown command "frobnicate"`, "one-off: the app's own message is missing:\n%s", stderr)
	})

	t.Run("Ctrl-C during up", func(t *testing.T) {
		code, stderr := interrupt(t, dir, "Container ", "up")
		assert.Equal(t, 3, code, "interrupted up exited %d, want 3 (cancelled)\n%s", code, stderr)
		assert.Empty(t, labelled(t, "container", "dev.quickscale.project="+name), "interrupted up left containers")
		qs(t, dir, 0, "up")
		qs(t, dir, 0, "down")
	})

	t.Run("Ctrl-C during build", func(t *testing.T) {
		before := labelled(t, "image", "dev.quickscale.project="+name)
		code, stderr := interrupt(t, dir, "compiling", "build", "--no-cache")
		assert.Equal(t, 3, code, "interrupted build exited %d, want 3 (cancelled)\n%s", code, stderr)
		// The engine lists images newest first; images made within the same
		// second (the base and the first app image) come in either order.
		slices.Sort(before)
		after := labelled(t, "image", "dev.quickscale.project="+name)
		slices.Sort(after)
		assert.Equal(t, before, after, "an interrupted build changed the images")
		assert.Empty(t, labelled(t, "container", "dev.quickscale.project="+name), "interrupted build left containers")
		qs(t, dir, 0, "build")
	})

	t.Run("container crashing at start", func(t *testing.T) {
		// Production refuses to start without a real SECRET_KEY.
		setDotEnv(t, dir, map[string]string{"APP_ENV": "production", "SECRET_KEY": ""})
		_, stderr := qs(t, dir, 1, "up", "--timeout", "1m")
		assert.Contains(t, stderr, "SECRET_KEY", "up does not name the crash's cause")
		assert.Contains(t, stderr, "last log lines of", "up does not show the crashing service's last log lines")
		qs(t, dir, 0, "down")
	})
}

// interrupt starts quickscale, sends SIGINT once its output shows marker,
// and returns its exit code and output.
func interrupt(t *testing.T, dir, marker string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(quickscaleBin, args...)
	cmd.Dir = dir
	cmd.Env = quickscaleEnv()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	cmd.Stderr = io.MultiWriter(pw, &stderr)
	cmd.Stdout = cmd.Stderr
	require.NoError(t, cmd.Start())
	seen := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		var acc []byte
		signalled := false
		for {
			n, err := pr.Read(buf)
			acc = append(acc, buf[:n]...)
			if !signalled && bytes.Contains(acc, []byte(marker)) {
				signalled = true
				close(seen)
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-seen:
		cmd.Process.Signal(syscall.SIGINT)
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		require.FailNowf(t, "no marker", "quickscale %s never printed %q:\n%s", strings.Join(args, " "), marker, stderr.String())
	}
	err := cmd.Wait()
	pw.Close()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stderr.String()
}
