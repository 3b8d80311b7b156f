// Package dockertest holds what the tests that drive the real Docker
// Engine share, in internal/docker and in e2e: a free host port to publish
// a stack on, a plain GET of what the stack serves, and an engine too old
// to be driven.
package dockertest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Get fetches url and returns the status code and body; a failed request
// fails the test.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read the body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// OldEngine serves the Engine API the way Docker 19.03 (API 1.40), older
// than quickscale supports, answers, on a Unix socket; it returns the
// socket's DOCKER_HOST.
func OldEngine(t testing.TB) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "old.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.40")
		w.Header().Set("Ostype", "linux")
		if strings.HasSuffix(r.URL.Path, "/version") {
			fmt.Fprint(w, `{"Version":"19.03.15","ApiVersion":"1.40","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}`)
			return
		}
		fmt.Fprint(w, "OK")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}
