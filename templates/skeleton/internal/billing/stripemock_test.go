package billing_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stripeMockVersion is the stripe-mock the tests are written against
// (`make tools` installs it into .tools/bin).
const stripeMockVersion = "v0.203.0"

// stripeMock is a stripe-mock server started for one test, behind a proxy
// that records every request it is sent. stripe-mock checks each request
// against Stripe's OpenAPI description (an unknown parameter is a 400) and
// answers with fixtures: it proves the shape of our requests, and keeps
// nothing.
type stripeMock struct {
	URL      string
	mu       sync.Mutex
	requests []recorded
}

// recorded is one request as stripe-go sent it.
type recorded struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
}

// startStripeMock runs stripe-mock from STRIPE_MOCK_BIN, the repository's
// .tools/bin or $PATH, on loopback ports of its own. Missing, the test is
// skipped, unless REQUIRE_STRIPE_MOCK=1 makes that a failure.
func startStripeMock(t *testing.T) *stripeMock {
	t.Helper()
	bin := findStripeMock()
	if bin == "" {
		msg := "stripe-mock not found (set STRIPE_MOCK_BIN, run `make tools`, or go install github.com/stripe/stripe-mock@" + stripeMockVersion + ")"
		if os.Getenv("REQUIRE_STRIPE_MOCK") == "1" {
			require.FailNow(t, "REQUIRE_STRIPE_MOCK=1: "+msg)
		}
		t.Skip(msg)
	}
	// Both addresses on loopback: left out, the HTTPS one listens on every
	// interface. Its embedded API description is newer than stripe-go's
	// pinned version, so no -strict-version-check.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start(), "start stripe-mock")
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		var log bytes.Buffer
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			log.WriteString(line + "\n")
			if a, ok := strings.CutPrefix(line, "Listening for HTTP at address: "); ok {
				addr <- strings.TrimSpace(a)
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		addr <- ""
		t.Logf("stripe-mock output:\n%s", log.String())
	}()
	var target string
	select {
	case target = <-addr:
	case <-time.After(60 * time.Second):
	}
	require.NotEmpty(t, target, "stripe-mock did not say where it listens")

	m := &stripeMock{}
	backend, err := url.Parse("http://" + target)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		for k, v := range r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		m.mu.Lock()
		m.requests = append(m.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
		m.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// last returns the last request to path.
func (m *stripeMock) last(t *testing.T, method, path string) recorded {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.requests) - 1; i >= 0; i-- {
		if r := m.requests[i]; r.Method == method && r.Path == path {
			return r
		}
	}
	require.FailNow(t, "no request to stripe-mock", "%s %s", method, path)
	return recorded{}
}

func findStripeMock() string {
	if bin := os.Getenv("STRIPE_MOCK_BIN"); bin != "" {
		return bin
	}
	// The repository's tools, from any package directory below it.
	if dir, err := os.Getwd(); err == nil {
		for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			bin := filepath.Join(dir, ".tools", "bin", "stripe-mock")
			if info, err := os.Stat(bin); err == nil && info.Mode().IsRegular() {
				return bin
			}
		}
	}
	bin, _ := exec.LookPath("stripe-mock")
	return bin
}
