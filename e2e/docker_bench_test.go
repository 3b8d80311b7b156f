package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quickscale/quickscale/internal/docker/dockertest"
)

// benchProject generates a sqlite project, builds it and starts it: the
// state from which a developer edits and runs `quickscale up` again. It
// returns the project's directory and the port the app is published on.
func benchProject(b *testing.B) (string, int) {
	b.Helper()
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		b.Fatalf("the Docker benchmarks need a running Docker Engine (scripts/start-dockerd starts one): %v\n%s", err, out)
	}
	parent := b.TempDir()
	name := fmt.Sprintf("bench-%d", os.Getpid())
	if _, stderr, code := runQuickscale(b, parent, nil, "init", name, "--no-input", "--dir", parent); code != 0 {
		b.Fatalf("init: %s", stderr)
	}
	dir := filepath.Join(parent, name)
	env, err := os.ReadFile(filepath.Join(dir, ".env"))
	if err != nil {
		b.Fatal(err)
	}
	port := dockertest.FreePort(b)
	env = fmt.Appendf(env, "APP_PORT=%d\nBASE_URL=http://localhost:%d\n", port, port)
	if err := os.WriteFile(filepath.Join(dir, ".env"), env, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd := exec.Command(quickscaleBin, "destroy", "--yes")
		cmd.Dir = dir
		_ = cmd.Run()
	})
	benchQuickscale(b, dir, "up")
	return dir, port
}

func benchQuickscale(b *testing.B, dir string, args ...string) {
	b.Helper()
	if _, stderr, code := runQuickscale(b, dir, nil, args...); code != 0 {
		b.Fatalf("quickscale %s exited %d:\n%s", strings.Join(args, " "), code, stderr)
	}
}

// BenchmarkUpNothingChanged is `quickscale up` on a running, unchanged
// project (goal: 2 s). It also reports the image size and the idle app
// container's memory.
func BenchmarkUpNothingChanged(b *testing.B) {
	dir, _ := benchProject(b)
	for b.Loop() {
		benchQuickscale(b, dir, "up")
	}
	b.StopTimer()
	name := filepath.Base(dir)
	if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Size}}", name+"-app:latest").Output(); err == nil {
		if n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil {
			b.ReportMetric(n/1e6, "image-MB")
		}
	}
	if out, err := exec.Command("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", name+"-app-1").Output(); err == nil {
		used, _, _ := strings.Cut(string(out), "/")
		if v, ok := strings.CutSuffix(strings.TrimSpace(used), "MiB"); ok {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				b.ReportMetric(n*1.048576, "idle-MB")
			}
		}
	}
}

// BenchmarkUpAfterOneLineChange is `quickscale up` after one line of an
// embedded page changed: compile, image build, recreate (goal: 5 s).
func BenchmarkUpAfterOneLineChange(b *testing.B) {
	dir, port := benchProject(b)
	base := "http://localhost:" + strconv.Itoa(port)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		line := fmt.Sprintf("bench change %d", i)
		changeAboutPage(b, dir, line)
		b.StartTimer()
		benchQuickscale(b, dir, "up")
		b.StopTimer()
		// The change must have reached the running app, or the figure
		// measures nothing.
		if code, body := dockertest.Get(b, base+"/about"); code != 200 || !strings.Contains(body, line) {
			b.Fatalf("after up, GET /about = %d without the changed line %q", code, line)
		}
		b.StartTimer()
	}
}
