package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const testSecret = "c0ffee0123456789c0ffee0123456789c0ffee0123456789c0ffee0123456789"

func environment(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{appName, "version"}, environment(nil), nil, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), appName+" ") {
		t.Fatalf("version = %q, %v", out.String(), err)
	}
	out.Reset()
	if err := run(ctx, []string{appName, "help"}, environment(nil), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "migrate up") {
		t.Fatalf("help = %q, %v", out.String(), err)
	}
	badLines := [][]string{
		{appName},
		{appName, "deploy"},
		{appName, "migrate"},
		{appName, "migrate", "sideways"},
	}
	for _, args := range badLines {
		err := run(ctx, args, environment(nil), nil, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "help") {
			t.Errorf("run %v = %v, want a usage error pointing to help", args[1:], err)
		}
	}
	err := run(ctx, []string{appName, "serve"}, environment(map[string]string{"APP_ENV": "production"}), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Fatalf("production serve without SECRET_KEY = %v, want an error naming SECRET_KEY", err)
	}
}

// serve answers its pages, then on cancellation (SIGTERM in production)
// finishes the request in flight and returns nil.
func TestServeAndGracefulShutdown(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			addr := freeAddr(t)
			vars := map[string]string{
				"HTTP_ADDR":    addr,
				"DATABASE_URL": dbtest.URL(t, dialect),
				"SECRET_KEY":   testSecret,
				"LOG_LEVEL":    "debug",
				"LOG_FORMAT":   "json",
			}
			getenv := environment(vars)
			var stdout, logs syncBuffer
			if err := run(context.Background(), []string{appName, "migrate", "up"}, getenv, nil, &stdout, &logs); err != nil {
				t.Fatalf("migrate up: %v", err)
			}
			if !strings.Contains(stdout.String(), "applied") {
				t.Fatalf("migrate up printed %q", stdout.String())
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{appName, "serve"}, getenv, nil, &stdout, &logs) }()
			base := "http://" + addr
			waitReady(t, base, done)

			for _, path := range []string{"/", "/about", "/contact", "/livez"} {
				resp, err := http.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d", path, resp.StatusCode)
				}
			}
			if err := run(context.Background(), []string{appName, "healthcheck"}, getenv, nil, io.Discard, io.Discard); err != nil {
				t.Fatalf("healthcheck against the running server: %v", err)
			}

			// A slow upload: the handler is reading its body (the server
			// asked for it with 100 Continue) when shutdown begins.
			form := url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "message": {"Sent while the server stops."}}.Encode()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /contact HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, base, len(form))
			br := bufio.NewReader(conn)
			line, err := br.ReadString('\n')
			if err != nil || !strings.Contains(line, "100 Continue") {
				t.Fatalf("server did not ask for the body: %q, %v", line, err)
			}
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}

			cancel()
			waitRefused(t, addr)
			if _, err := io.WriteString(conn, form); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("the in-flight request was cut: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("in-flight POST = %d, want 303", resp.StatusCode)
			}

			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve returned %v, want nil after a graceful shutdown", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not return after cancellation")
			}
			if err := run(context.Background(), []string{appName, "healthcheck"}, getenv, nil, io.Discard, io.Discard); err == nil {
				t.Fatal("healthcheck passed with the server stopped")
			}

			l := logs.String()
			if strings.Contains(l, testSecret) {
				t.Fatal("SECRET_KEY reached the log")
			}
			for _, want := range []string{`"msg":"serving"`, `"msg":"shutting down`, `"msg":"stopped"`, `"request_id":"`} {
				if !strings.Contains(l, want) {
					t.Errorf("log lacks %s", want)
				}
			}
		})
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			vars := map[string]string{"HTTP_ADDR": freeAddr(t), "DATABASE_URL": dbtest.URL(t, dialect), "SECRET_KEY": testSecret}
			ctx := context.Background()
			if err := run(ctx, []string{appName, "migrate", "up"}, environment(vars), nil, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			db, err := database.Open(ctx, vars["DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)", 9999, "future"); err != nil {
				t.Fatal(err)
			}
			db.Close()

			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{appName, "serve"}, environment(vars), nil, io.Discard, io.Discard) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "newer build") {
					t.Fatalf("serve on a newer schema = %v, want a refusal", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve started on a schema newer than it knows")
			}

			var status bytes.Buffer
			if err := run(ctx, []string{appName, "migrate", "status"}, environment(vars), nil, &status, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(status.String(), "9999") {
				t.Errorf("migrate status does not list the unknown version:\n%s", status.String())
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, base string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped before it was ready: %v", err)
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server never became ready")
}

// waitRefused waits until the server has closed its listener: shutdown has
// begun.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("server still accepts connections after cancellation")
}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
