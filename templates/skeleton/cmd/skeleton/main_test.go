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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging/logtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// testSecret is the output of `openssl rand -hex 32`.
const testSecret = "0fa765d7de5f89097d71e1f394fbe2716e7a693d1d38dd54deb94cd1687075a7"

func environment(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	err := run(ctx, []string{appName, "version"}, environment(nil), nil, &out, io.Discard)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out.String(), appName+" "), "version = %q", out.String())
	out.Reset()
	err = run(ctx, []string{appName, "help"}, environment(nil), nil, &out, io.Discard)
	require.NoError(t, err)
	require.Contains(t, out.String(), "migrate up", "help")
	badLines := [][]string{
		{appName},
		{appName, "deploy"},
		{appName, "migrate"},
		{appName, "migrate", "sideways"},
	}
	for _, args := range badLines {
		err := run(ctx, args, environment(nil), nil, io.Discard, io.Discard)
		assert.ErrorAs(t, err, new(usageError), "run %v", args[1:])
		assert.ErrorContains(t, err, "help", "run %v: the usage error points to help", args[1:])
	}
	err = run(ctx, []string{appName, "serve"}, environment(map[string]string{"APP_ENV": "production"}), nil, io.Discard, io.Discard)
	require.ErrorContains(t, err, "SECRET_KEY", "production serve without SECRET_KEY")
}

// TestCommandLines: help at every level prints that command's usage on
// stdout and exits 0; an unknown command, flag or argument exits 2 with a
// message naming it and pointing to the command's --help.
func TestCommandLines(t *testing.T) {
	for _, tc := range []struct {
		line   string
		status int
		stdout string // in the output, "" for none
		stderr string // in the error, "" for none
	}{
		{"help", 0, "Commands:", ""},
		{"-h", 0, "Commands:", ""},
		{"--help", 0, "Usage: " + appName + " <command>", ""},
		{"help credits grant", 0, "Usage: " + appName + " credits grant --email ADDRESS", ""},
		{"migrate --help", 0, "Usage: " + appName + " migrate <command>", ""},
		{"migrate help", 0, "status", ""},
		{"migrate help status", 0, "Usage: " + appName + " migrate status\n", ""},
		{"migrate status --help", 0, "Usage: " + appName + " migrate status\n", ""},
		{"migrate status -h", 0, "List migrations", ""},
		{"credits grant --help", 0, "-expires", ""},
		{"credits grant help", 0, "-amount", ""},
		{"createadmin --help", 0, "-password-stdin", ""},
		{"version", 0, appName + " ", ""},
		{"--version", 0, appName + " ", ""},
		{"", 2, "", "a command is needed"},
		{"deploy", 2, "", `unknown command "deploy"`},
		{"--bogus", 2, "", `unknown flag "--bogus"`},
		{"migrate sideways", 2, "", `migrate: unknown command "sideways"`},
		{"credits grant --bogus", 2, "", "-bogus"},
		{"migrate status extra", 2, "", `unexpected argument "extra"`},
		{"help deploy", 2, "", `no command "deploy"`},
		{"credits grant --email a@example.com", 2, "", "--amount N"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(context.Background(), append([]string{appName}, strings.Fields(tc.line)...), environment(nil), nil, &stdout, io.Discard)
			assert.Equal(t, tc.status, exitCode(err), "exit status; error %v", err)
			if tc.stdout == "" {
				assert.Empty(t, stdout.String(), "stdout")
			} else {
				assert.Contains(t, stdout.String(), tc.stdout, "stdout")
			}
			if tc.stderr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.stderr)
				assert.ErrorContains(t, err, "--help` for its usage", "the error points to the command's help")
			}
		})
	}
	assert.Equal(t, 1, exitCode(errors.New("the database is down")), "a command that ran and failed")
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
			var stdout, logs logtest.Buffer
			require.NoError(t, run(context.Background(), []string{appName, "migrate", "up"}, getenv, nil, &stdout, &logs), "migrate up")
			require.Contains(t, stdout.String(), "applied", "migrate up")

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{appName, "serve"}, getenv, nil, &stdout, &logs) }()
			base := "http://" + addr
			waitReady(t, base, done)

			for _, path := range []string{"/", "/about", "/contact", "/livez"} {
				resp, err := http.Get(base + path)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path)
			}
			require.NoError(t, run(context.Background(), []string{appName, "healthcheck"}, getenv, nil, io.Discard, io.Discard),
				"healthcheck against the running server")

			// A slow upload: the handler is reading its body (the server
			// asked for it with 100 Continue) when shutdown begins.
			form := url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "message": {"Sent while the server stops."}}.Encode()
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			fmt.Fprintf(conn, "POST /contact HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, base, len(form))
			br := bufio.NewReader(conn)
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			require.Contains(t, line, "100 Continue", "the server asks for the body")
			_, err = br.ReadString('\n')
			require.NoError(t, err)

			cancel()
			waitRefused(t, addr)
			_, err = io.WriteString(conn, form)
			require.NoError(t, err)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "the in-flight request was cut")
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "in-flight POST")

			select {
			case err := <-done:
				require.NoError(t, err, "serve after a graceful shutdown")
			case <-time.After(30 * time.Second):
				require.FailNow(t, "serve did not return after cancellation")
			}
			require.Error(t, run(context.Background(), []string{appName, "healthcheck"}, getenv, nil, io.Discard, io.Discard),
				"healthcheck passed with the server stopped")

			l := logs.String()
			require.NotContains(t, l, testSecret, "SECRET_KEY reached the log")
			for _, want := range []string{`"msg":"serving"`, `"msg":"shutting down`, `"msg":"stopped"`, `"request_id":"`} {
				assert.Contains(t, l, want, "log")
			}
		})
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			vars := map[string]string{"HTTP_ADDR": freeAddr(t), "DATABASE_URL": dbtest.URL(t, dialect), "SECRET_KEY": testSecret}
			ctx := context.Background()
			require.NoError(t, run(ctx, []string{appName, "migrate", "up"}, environment(vars), nil, io.Discard, io.Discard))
			db, err := database.Open(ctx, vars["DATABASE_URL"])
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)", 9999, "future")
			require.NoError(t, err)
			db.Close()

			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{appName, "serve"}, environment(vars), nil, io.Discard, io.Discard) }()
			select {
			case err := <-done:
				require.ErrorContains(t, err, "newer build", "serve on a newer schema is refused")
			case <-time.After(30 * time.Second):
				require.FailNow(t, "serve started on a schema newer than it knows")
			}

			var status bytes.Buffer
			require.NoError(t, run(ctx, []string{appName, "migrate", "status"}, environment(vars), nil, &status, io.Discard))
			assert.Contains(t, status.String(), "9999", "migrate status lists the unknown version")
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
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
			require.FailNow(t, "serve stopped before it was ready", "%v", err)
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
	require.FailNow(t, "server never became ready")
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
	require.FailNow(t, "server still accepts connections after cancellation")
}

// With STRIPE_ENABLED=true, serve takes Stripe's signed deliveries at
// /stripe/webhook and refuses unsigned ones; the keys stay out of the log.
func TestServeWithStripe(t *testing.T) {
	addr := freeAddr(t)
	vars := map[string]string{
		"HTTP_ADDR": addr, "DATABASE_URL": dbtest.URL(t, database.SQLite), "SECRET_KEY": testSecret, "LOG_FORMAT": "json",
		"STRIPE_ENABLED": "true", "STRIPE_SECRET_KEY": "sk_test_serve_secret", "STRIPE_PUBLISHABLE_KEY": "pk_test_serve",
		"STRIPE_WEBHOOK_SECRET": billingtest.WebhookSecret,
	}
	getenv := environment(vars)
	var stdout, logs logtest.Buffer
	require.NoError(t, run(context.Background(), []string{appName, "migrate", "up"}, getenv, nil, &stdout, &logs), "migrate up")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{appName, "serve"}, getenv, nil, &stdout, &logs) }()
	base := "http://" + addr
	waitReady(t, base, done)

	payload := billingtest.Event("evt_serve", "customer.created", "cus_test_1")
	send := func(signature string) int {
		req, err := http.NewRequest(http.MethodPost, base+"/stripe/webhook", bytes.NewReader(payload))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", signature)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, send(billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())), "a signed delivery")
	assert.Equal(t, http.StatusBadRequest, send("t=1,v1=00"), "an unsigned delivery")
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, logs.String(), `"stripe_enabled":true`)
	assert.NotContains(t, logs.String(), "sk_test_serve_secret", "the Stripe key reached the log")
	assert.NotContains(t, logs.String(), billingtest.WebhookSecret, "the webhook secret reached the log")
}

// With STRIPE_FAKE=true serve seeds the demo catalogue into an empty one;
// once its packages are deactivated it starts again without seeding them
// (their price ids are UNIQUE) and they stay off sale.
func TestServeWithTheDemoCatalogueDeactivated(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			addr := freeAddr(t)
			vars := map[string]string{"HTTP_ADDR": addr, "BASE_URL": "http://" + addr, "DATABASE_URL": dbtest.URL(t, dialect),
				"SECRET_KEY": testSecret, "STRIPE_FAKE": "true", "LOG_LEVEL": "error", "EMAIL_BACKEND": "file", "EMAIL_FILE_DIR": t.TempDir()}
			bg := context.Background()
			require.NoError(t, run(bg, []string{appName, "migrate", "up"}, environment(vars), nil, io.Discard, io.Discard))
			serve := func() {
				ctx, cancel := context.WithCancel(bg)
				done := make(chan error, 1)
				go func() { done <- run(ctx, []string{appName, "serve"}, environment(vars), nil, io.Discard, io.Discard) }()
				waitReady(t, "http://"+addr, done)
				cancel()
				require.NoError(t, <-done)
			}
			serve()
			db, err := database.Open(bg, vars["DATABASE_URL"])
			require.NoError(t, err)
			defer db.Close()
			var active int
			require.NoError(t, db.QueryRowContext(bg, "SELECT COUNT(*) FROM credit_packages WHERE active = TRUE").Scan(&active))
			require.NotZero(t, active, "the demo catalogue is on sale")
			_, err = db.ExecContext(bg, "UPDATE credit_packages SET active = FALSE")
			require.NoError(t, err)
			serve()
			require.NoError(t, db.QueryRowContext(bg, "SELECT COUNT(*) FROM credit_packages WHERE active = TRUE").Scan(&active))
			assert.Zero(t, active, "the deactivated demo packages stay off sale")
		})
	}
}
