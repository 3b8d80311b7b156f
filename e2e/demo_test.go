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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.NoError(t, cmd.Start(), "start scripts/demo")
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
			require.FailNowf(t, "scripts/demo exited before serving", "%v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if m := running.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		require.False(t, time.Now().After(deadline), "scripts/demo printed no URL within 5 minutes")
	}
	assert.Equal(t, "http://localhost:"+port, url, "scripts/demo printed %s, want the port it was given (%s)", url, port)

	client := sameOriginClient(t, url)
	status, _ := mustGet(t, client, url+"/")
	assert.Equal(t, http.StatusOK, status, "GET %s/", url)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		done = true
		assert.NoError(t, err, "scripts/demo's exit after SIGTERM, want 0")
	case <-time.After(30 * time.Second):
		require.FailNow(t, "scripts/demo still running 30s after SIGTERM")
	}
	assert.Contains(t, out.String(), "demo: stopped", "scripts/demo did not report that it stopped the server")
	_, _, err := fetch(t.Context(), client, http.MethodGet, url+"/livez")
	assert.Error(t, err, "the demo server still answers after scripts/demo exited")
}

// TestDemoTargetInstallsDepsFirst holds `make demo` to the README: like
// `make test`, it installs the missing packages before anything needs them.
func TestDemoTargetInstallsDepsFirst(t *testing.T) {
	t.Parallel()
	// --no-print-directory: under `make test` this make is a sub-make,
	// which would otherwise frame its output with "Entering directory".
	cmd := exec.Command("make", "--no-print-directory", "-n", "demo")
	cmd.Dir = moduleRoot
	cmd.Env = goEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make -n demo\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	assert.Equal(t, "scripts/install-deps", lines[0], "make demo's first step; it runs:\n%s", out)
	assert.True(t, strings.HasPrefix(lines[len(lines)-1], "scripts/demo bin/quickscale .demo "), "make demo's last step is not the demo: %q", lines[len(lines)-1])
}
