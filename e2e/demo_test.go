package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoScript runs scripts/demo, the body of the README's `make demo`,
// as a user would: it must generate a project, serve it at the URL it
// prints, and stop cleanly on SIGTERM.
func TestDemoScript(t *testing.T) {
	t.Parallel()
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	var out syncBuffer
	cmd := exec.Command(filepath.Join(moduleRoot, "scripts", "demo"), quickscaleBin, t.TempDir(), port)
	cmd.Dir = moduleRoot
	cmd.Env = quickscaleEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start scripts/demo: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("scripts/demo output:\n%s", out.String())
		}
	})

	running := regexp.MustCompile(`is running at (http://localhost:[0-9]+)`)
	var url string
	deadline := time.Now().Add(5 * time.Minute)
	for url == "" {
		select {
		case err := <-exited:
			done = true
			t.Fatalf("scripts/demo exited before serving: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if m := running.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatal("scripts/demo printed no URL within 5 minutes")
		}
	}
	if url != "http://localhost:"+port {
		t.Errorf("scripts/demo printed %s, want the port it was given (%s)", url, port)
	}

	client := sameOriginClient(t, url)
	if status, _ := mustGet(t, client, url+"/"); status != http.StatusOK {
		t.Errorf("GET %s/ = %d, want 200", url, status)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		done = true
		if err != nil {
			t.Errorf("scripts/demo exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("scripts/demo still running 30s after SIGTERM")
	}
	if !strings.Contains(out.String(), "demo: stopped") {
		t.Errorf("scripts/demo did not report that it stopped the server")
	}
	if _, _, err := fetch(t.Context(), client, http.MethodGet, url+"/livez"); err == nil {
		t.Errorf("the demo server still answers after scripts/demo exited")
	}
}
