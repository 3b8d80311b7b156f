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
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("the Docker tests need a running Docker Engine (scripts/start-dockerd starts one): %v\n%s", err, out)
	}
}

// destroyAtEnd removes the project's Docker resources when a test ends,
// passed or failed. It cannot use runQuickscale: t.Context() is already
// cancelled when clean-ups run.
func destroyAtEnd(t *testing.T, dir string) {
	cmd := exec.Command(quickscaleBin, "destroy", "--yes")
	cmd.Dir = dir
	cmd.Env = append(withoutQuickscaleVars(goEnv()), "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("clean-up: quickscale destroy --yes in %s: %v\n%s", dir, err, out)
	}
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
	if code != want {
		t.Fatalf("quickscale %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
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
	if err != nil {
		t.Fatal(err)
	}
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
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /contact = %d, want 303 (stored)\n%s", resp.StatusCode, body)
	}
}

// storedMessage reports whether the database holds the message, read from
// the database itself, not through the app.
func storedMessage(t *testing.T, project, preset, message string, env map[string]string) bool {
	t.Helper()
	if preset == "postgres" {
		out, err := exec.Command("docker", "exec", project+"-db-1", "psql", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"],
			"-tAc", "SELECT count(*) FROM contact_messages WHERE body = '"+message+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("query PostgreSQL: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out)) == "1"
	}
	// The SQLite files (database and WAL) from the data volume, as a tar.
	out, err := exec.Command("docker", "cp", project+"-app-1:/data", "-").Output()
	if err != nil {
		t.Fatalf("docker cp the SQLite files: %v", err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
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
		if err := json.Unmarshal([]byte(out), &services); err != nil {
			t.Fatalf("ps --json is not JSON: %v\n%s", err, out)
		}
		for _, s := range services {
			if s.Service == "app" && s.State == "running" && s.Health == "healthy" {
				table, _ := qs(t, dir, 0, "ps")
				if !regexpHealthyApp(table) {
					t.Fatalf("ps table does not show the app healthy:\n%s", table)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app is not healthy after 60s:\n%s", out)
		}
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
	if code != 0 {
		t.Fatalf("quickscale init %s --db %s exited %d\nstdout:\n%s\nstderr:\n%s", name, preset, code, stdout, stderr)
	}
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
		if err := postgresImage(); err != nil {
			t.Fatal(err)
		}
		vars["POSTGRES_IMAGE"] = localPostgresImage
		vars["POSTGRES_PORT"] = strconv.Itoa(dockertest.FreePort(t))
	}
	setDotEnv(t, dir, vars)
	env := readDotEnv(t, dir)
	base := "http://localhost:" + strconv.Itoa(port)

	out, _ := qs(t, dir, 0, "check")
	for _, want := range []string{"Docker", "go1.27.3", strconv.Itoa(port) + " (APP_PORT) is free"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	out = timed(t, "cold build ("+preset+")", dir, "build")
	if !strings.Contains(out, "Built "+name+"-app:") {
		t.Fatalf("build output: %s", out)
	}

	out = timed(t, "first up ("+preset+")", dir, "up")
	if !strings.Contains(out, base+"/") {
		t.Errorf("up does not print the app URL %s:\n%s", base, out)
	}
	if code, body := dockertest.Get(t, base+"/"); code != http.StatusOK {
		t.Fatalf("GET / through the published port = %d\n%s", code, body)
	}

	logs, _ := qs(t, dir, 0, "logs", "app")
	if !strings.Contains(logs, "method=GET path=/ status=200") {
		t.Errorf("logs app does not show the request:\n%s", logs)
	}
	if code, out := interrupt(t, dir, "app-1", "logs", "-f"); code != 0 {
		t.Errorf("Ctrl-C ended logs -f with exit code %d, want 0\n%s", code, out)
	}
	buildLog, _ := qs(t, dir, 0, "logs", "--build")
	if !strings.Contains(buildLog, "go build -trimpath") {
		t.Errorf("logs --build does not show the build output:\n%s", buildLog)
	}

	status, _ := qs(t, dir, 0, "manage", "migrate", "status")
	if !strings.Contains(status, "0001") {
		t.Errorf("manage migrate status:\n%s", status)
	}
	admin, adminErr, code := runQuickscale(t, dir, strings.NewReader("correct-horse-battery-staple-42\n"),
		"manage", "createadmin", "--email", "owner@example.com", "--password-stdin")
	if code != 0 || !strings.Contains(admin, "Created administrator owner@example.com") {
		t.Errorf("manage createadmin with the password on stdin exited %d:\n%s\n%s", code, admin, adminErr)
	}

	waitHealthy(t, dir)

	marker := randomMarker()
	postContact(t, base, marker)

	qs(t, dir, 0, "down")
	if left := labelled(t, "container", "dev.quickscale.project="+name); len(left) != 0 {
		t.Fatalf("containers left after down: %v", left)
	}
	timed(t, "up after down ("+preset+")", dir, "up")
	if !storedMessage(t, name, preset, marker, env) {
		t.Fatalf("the contact message posted before down is gone after up")
	}

	// Timing: up with nothing changed, and after a one-line change that
	// alters the binary (an embedded page).
	for i := range 3 {
		timed(t, "up, nothing changed", dir, "up")
		line := fmt.Sprintf("e2e change %d", i)
		changeAboutPage(t, dir, line)
		timed(t, "up after a one-line change", dir, "up")
		if code, body := dockertest.Get(t, base+"/about"); code != 200 || !strings.Contains(body, line) {
			t.Fatalf("after up, GET /about = %d without the changed line %q", code, line)
		}
	}
	recordImageAndMemory(t, name)

	testOut, testErr := qs(t, dir, 0, "test", "--e2e")
	if !strings.Contains(testErr, "end-to-end: ") || !strings.Contains(testErr, "passed") {
		t.Errorf("test --e2e summary:\nstdout:\n%s\nstderr:\n%s", testOut, testErr)
	}

	qs(t, dir, 0, "destroy", "--yes")
	if left := leftovers(t, name); len(left) != 0 {
		t.Fatalf("destroy left: %v", left)
	}
}

// changeAboutPage adds one line of text to the about page, inside its
// content block: a change to the binary (the page is embedded) that the
// served page shows.
func changeAboutPage(t testing.TB, dir, line string) {
	t.Helper()
	path := filepath.Join(dir, "internal", "views", "templates", "pages", "about.html")
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.LastIndex(page, []byte("{{end}}"))
	if end < 0 {
		t.Fatalf("%s has no {{end}} to add a line before", path)
	}
	changed := slices.Concat(page[:end], []byte("<p>"+line+"</p>\n"), page[end:])
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
}

// recordImageAndMemory adds the app image's size and the idle app
// container's memory to the timing report.
func recordImageAndMemory(t *testing.T, project string) {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format", "{{.Image}}", project+"-app-1").Output()
	if err != nil {
		t.Fatalf("inspect the app container: %v", err)
	}
	size, err := exec.Command("docker", "image", "inspect", "--format", "{{.Size}}", strings.TrimSpace(string(out))).Output()
	if err != nil {
		t.Fatalf("inspect the app image: %v", err)
	}
	if n, err := strconv.ParseFloat(strings.TrimSpace(string(size)), 64); err == nil {
		report.add("app image size", "MB", n/1e6)
	}
	time.Sleep(3 * time.Second) // idle: no request in flight
	mem, err := exec.Command("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", project+"-app-1").Output()
	if err != nil {
		t.Fatalf("docker stats: %v", err)
	}
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
		if !strings.Contains(stderr, "not inside a quickscale project") || !strings.Contains(stderr, "quickscale init") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})

	t.Run("no Docker daemon", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "docker.sock")
		t.Setenv("DOCKER_HOST", "unix://"+sock)
		_, stderr := qs(t, dir, 1, "up")
		if !strings.Contains(stderr, sock) || !strings.Contains(stderr, "quickscale check") {
			t.Errorf("stderr does not name the socket and `quickscale check`:\n%s", stderr)
		}
		out, _ := qs(t, dir, 1, "check")
		if !strings.Contains(out, sock) {
			t.Errorf("check does not name the socket:\n%s", out)
		}
	})

	t.Run("Docker context honoured", func(t *testing.T) {
		host, err := exec.Command("docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}").Output()
		if err != nil {
			t.Fatalf("docker context inspect: %v", err)
		}
		// A second name for the engine's socket: only the context leads there.
		alias := filepath.Join(t.TempDir(), "alias.sock")
		if err := os.Symlink(strings.TrimPrefix(strings.TrimSpace(string(host)), "unix://"), alias); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		t.Setenv("DOCKER_HOST", "")
		os.Unsetenv("DOCKER_HOST") // it would override the context
		if out, err := exec.Command("docker", "context", "create", "qs-e2e", "--docker", "host=unix://"+alias).CombinedOutput(); err != nil {
			t.Fatalf("docker context create: %v\n%s", err, out)
		}
		t.Setenv("DOCKER_CONTEXT", "qs-e2e")
		if out, _ := qs(t, dir, 0, "check"); !strings.Contains(out, "at unix://"+alias) {
			t.Errorf("check does not use the context's engine %s:\n%s", alias, out)
		}
		t.Setenv("DOCKER_CONTEXT", "no-such-context")
		_, stderr := qs(t, dir, 1, "ps")
		if !strings.Contains(stderr, "no-such-context") || !strings.Contains(stderr, "docker context ls") {
			t.Errorf("an unknown context is not named with the fix:\n%s", stderr)
		}
	})

	t.Run("engine too old", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", dockertest.OldEngine(t))
		_, stderr := qs(t, dir, 1, "ps")
		if !strings.Contains(stderr, "1.40") || !strings.Contains(stderr, "20.10") {
			t.Errorf("stderr does not name the old API and the minimum:\n%s", stderr)
		}
	})

	t.Run("compile error", func(t *testing.T) {
		main := filepath.Join(dir, "cmd", name, "main.go")
		src, err := os.ReadFile(main)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(main, append(slices.Clone(src), "\nfunc broken() { undefinedThing() }\n"...), 0o644)
		_, stderr := qs(t, dir, 1, "build")
		os.WriteFile(main, src, 0o644)
		for _, want := range []string{"main.go:", "undefined: undefinedThing", ".quickscale/logs/build-"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		qs(t, dir, 0, "build")
	})

	t.Run("busy port", func(t *testing.T) {
		hold, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		_, stderr := qs(t, dir, 1, "up")
		hold.Close()
		for _, want := range []string{strconv.Itoa(port), "--port", "APP_PORT"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if left := labelled(t, "container", "dev.quickscale.project="+name); len(left) != 0 {
			t.Errorf("a refused up left containers: %v", left)
		}
	})

	t.Run("unknown manage subcommand", func(t *testing.T) {
		qs(t, dir, 0, "up")
		_, stderr := qs(t, dir, 2, "manage", "frobnicate", "--flag")
		if !strings.Contains(stderr, `unknown command "frobnicate"`) {
			t.Errorf("the app's own message is missing:\n%s", stderr)
		}
		qs(t, dir, 0, "down")
		_, stderr = qs(t, dir, 2, "manage", "frobnicate")
		if !strings.Contains(stderr, `unknown command "frobnicate"`) {
			t.Errorf("one-off: the app's own message is missing:\n%s", stderr)
		}
	})

	t.Run("Ctrl-C during up", func(t *testing.T) {
		code, stderr := interrupt(t, dir, "Container ", "up")
		if code != 3 {
			t.Errorf("interrupted up exited %d, want 3 (cancelled)\n%s", code, stderr)
		}
		if left := labelled(t, "container", "dev.quickscale.project="+name); len(left) != 0 {
			t.Errorf("interrupted up left containers: %v", left)
		}
		qs(t, dir, 0, "up")
		qs(t, dir, 0, "down")
	})

	t.Run("Ctrl-C during build", func(t *testing.T) {
		before := labelled(t, "image", "dev.quickscale.project="+name)
		code, stderr := interrupt(t, dir, "compiling", "build", "--no-cache")
		if code != 3 {
			t.Errorf("interrupted build exited %d, want 3 (cancelled)\n%s", code, stderr)
		}
		// The engine lists images newest first; images made within the same
		// second (the base and the first app image) come in either order.
		slices.Sort(before)
		after := labelled(t, "image", "dev.quickscale.project="+name)
		if slices.Sort(after); !slices.Equal(before, after) {
			t.Errorf("an interrupted build changed the images: before %v, after %v", before, after)
		}
		if left := labelled(t, "container", "dev.quickscale.project="+name); len(left) != 0 {
			t.Errorf("interrupted build left containers: %v", left)
		}
		qs(t, dir, 0, "build")
	})

	t.Run("container crashing at start", func(t *testing.T) {
		// Production refuses to start without a real SECRET_KEY.
		setDotEnv(t, dir, map[string]string{"APP_ENV": "production", "SECRET_KEY": ""})
		_, stderr := qs(t, dir, 1, "up", "--timeout", "1m")
		if !strings.Contains(stderr, "SECRET_KEY") || !strings.Contains(stderr, "last log lines of") {
			t.Errorf("up does not show the crashing service's last log lines:\n%s", stderr)
		}
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
		t.Fatalf("quickscale %s never printed %q:\n%s", strings.Join(args, " "), marker, stderr.String())
	}
	err := cmd.Wait()
	pw.Close()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}
