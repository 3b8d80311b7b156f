package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// setupAccount migrates the database behind env and creates a verified
// account through the real commands.
func setupAccount(t *testing.T, env func(string) string, email string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, run(ctx, []string{appName, "migrate", "up"}, env, nil, io.Discard, io.Discard))
	err := run(ctx, []string{appName, "createadmin", "--email", email, "--password-stdin"},
		env, strings.NewReader("a strong admin passphrase\n"), io.Discard, io.Discard)
	require.NoError(t, err)
}

func TestCreditsCommands(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			env := environment(map[string]string{"DATABASE_URL": dbtest.URL(t, dialect), "SECRET_KEY": testSecret, "LOG_LEVEL": "error"})
			setupAccount(t, env, "cli@example.com")
			cmd := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append([]string{appName}, args...), env, nil, &out, io.Discard)
				return out.String(), err
			}
			out, err := cmd("credits", "grant", "--email", "cli@example.com", "--amount", "50", "--expires", "720h")
			require.NoError(t, err, "grant")
			require.Contains(t, out, "balance is now 50", "grant")
			_, err = cmd("credits", "adjust", "--email", "cli@example.com", "--amount", "-60", "--reason", "too much")
			require.ErrorContains(t, err, "not enough credits", "deducting below zero is refused")
			out, err = cmd("credits", "adjust", "--email", "cli@example.com", "--amount", "-20", "--reason", "correction")
			require.NoError(t, err, "adjust")
			require.Contains(t, out, "balance is now 30", "adjust")
			out, err = cmd("credits", "show", "--email", "cli@example.com")
			require.NoError(t, err, "show")
			require.Contains(t, out, "30 credits (2 journal entries)", "show")
			require.Contains(t, out, "admin deduction", "show")
			require.Contains(t, out, "correction", "show")
			out, err = cmd("credits", "check")
			require.NoError(t, err, "check")
			require.Contains(t, out, "consistent", "check")
			token, err := cmd("apikey", "create", "--email", "cli@example.com", "--name", "ci")
			require.NoError(t, err, "apikey create")
			require.True(t, strings.HasPrefix(token, "sk_"), "apikey create prints the token: %q", token)
			require.Equal(t, 1, strings.Count(token, "\n"), "apikey create prints the token alone on stdout: %q", token)
			for _, bad := range [][]string{
				{"credits"}, {"credits", "gift"}, {"credits", "grant", "--amount", "5"},
				{"credits", "grant", "--email", "cli@example.com", "--amount", "-5"},
				{"credits", "adjust", "--email", "cli@example.com", "--amount", "0", "--reason", "x"},
				{"credits", "grant", "--email", "cli@example.com", "--amount", "5", "--expires", "yesterday"},
				{"apikey"}, {"apikey", "create", "--email", "cli@example.com"},
			} {
				_, err := cmd(bad...)
				assert.Error(t, err, "%v succeeded", bad)
			}
			_, err = cmd("credits", "adjust", "--email", "cli@example.com", "--amount", "5")
			assert.ErrorContains(t, err, "reason", "adjust without a reason")
			_, err = cmd("credits", "show", "--email", "nobody@example.com")
			assert.ErrorContains(t, err, "no account", "show for an unknown address")
		})
	}
}

// TestKillDuringConsumption builds the real binary, drives paid runs
// through the API from several clients and SIGKILLs the server at a random
// moment, for several seeds. After each restart every acknowledged run is
// present exactly once, replaying its key charges nothing, and the books
// balance.
func TestKillDuringConsumption(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it: not in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, appName)
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build\n%s", out)
	dbURL := "sqlite:" + filepath.Join(dir, "app.db")
	env := environment(map[string]string{"DATABASE_URL": dbURL, "SECRET_KEY": testSecret, "LOG_LEVEL": "error"})
	setupAccount(t, env, "kill@example.com")
	const granted = 100_000
	require.NoError(t, run(context.Background(), []string{appName, "credits", "grant", "--email", "kill@example.com", "--amount", fmt.Sprint(granted)}, env, nil, io.Discard, io.Discard))
	var tokenOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{appName, "apikey", "create", "--email", "kill@example.com", "--name", "kill"}, env, nil, &tokenOut, io.Discard))
	token := strings.TrimSpace(tokenOut.String())

	acked := map[string]ackedRun{} // idempotency key → what the client was told
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, seed*7919))
		addr := freeAddr(t)
		server := startBinary(t, bin, addr, dbURL)
		base := "http://" + addr
		waitReadyHTTP(t, base)

		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("s%d-w%d-%d", seed, w, i)
					run, ok := postRun(base, token, key)
					if !ok {
						continue
					}
					mu.Lock()
					acked[key] = run
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(150+rng.IntN(500)) * time.Millisecond)
		require.NoError(t, server.Process.Signal(syscall.SIGKILL))
		server.Wait()
		close(stop)
		wg.Wait()

		// Restart: everything acknowledged is there, once, and replays.
		server = startBinary(t, bin, addr, dbURL)
		waitReadyHTTP(t, base)
		replayed := 0
		for key, want := range acked {
			if replayed >= 20 {
				break
			}
			got, ok := postRun(base, token, key)
			require.True(t, ok, "seed %d: replaying acknowledged %s", seed, key)
			require.Equal(t, want.ID, got.ID, "seed %d: replaying acknowledged %s answers its run", seed, key)
			require.True(t, got.Replayed, "seed %d: replaying acknowledged %s is a replay", seed, key)
			require.Equal(t, want.JournalID, got.JournalID, "seed %d: replaying acknowledged %s charges nothing new", seed, key)
			replayed++
		}
		server.Process.Signal(syscall.SIGTERM)
		server.Wait()
		checkAfterKill(t, dbURL, acked, granted)
		t.Logf("seed %d: %d runs acknowledged so far", seed, len(acked))
	}
	require.NotEmpty(t, acked, "no run was acknowledged before the kills: the test exercised nothing")
}

type ackedRun struct {
	ID        string `json:"id"`
	JournalID string `json:"journal_id"`
	Status    string `json:"status"`
	Replayed  bool   `json:"replayed"`
}

var killClient = &http.Client{Timeout: 5 * time.Second}

// postRun asks for one paid run; ok means the server acknowledged it.
func postRun(base, token, key string) (ackedRun, bool) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/services/word-count/runs", strings.NewReader(`{"input":{"text":"kill test"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := killClient.Do(req)
	if err != nil {
		return ackedRun{}, false
	}
	defer resp.Body.Close()
	var run ackedRun
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil {
		return ackedRun{}, false
	}
	if (resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK) || run.Status != "succeeded" {
		return ackedRun{}, false
	}
	return run, true
}

func startBinary(t *testing.T, bin, addr, dbURL string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "HTTP_ADDR="+addr, "DATABASE_URL="+dbURL, "SECRET_KEY="+testSecret,
		"BASE_URL=http://"+addr, "LOG_LEVEL=error", "EMAIL_BACKEND=file", "EMAIL_FILE_DIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd
}

func waitReadyHTTP(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(t, "the server did not become ready within 20s", base)
}

// checkAfterKill opens the database the killed server left behind.
func checkAfterKill(t *testing.T, dbURL string, acked map[string]ackedRun, granted int64) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, dbURL)
	require.NoError(t, err)
	defer db.Close()
	ledger := credits.New(db, clock.System{})
	problems, err := ledger.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, problems, "ledger after kill")
	for key, want := range acked {
		var n int
		var id string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(id) FROM credit_journal WHERE idempotency_key = ?", key).Scan(&n, &id))
		require.Equal(t, 1, n, "acknowledged run %s: journal rows", key)
		require.Equal(t, want.JournalID, id, "acknowledged run %s: exactly its own journal row", key)
		var status string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT status FROM service_runs WHERE id = ?", want.ID).Scan(&status))
		require.Equal(t, "succeeded", status, "acknowledged run %s", key)
	}
	var consumed, refunded, balance int64
	db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE kind = 'consumption'").Scan(&consumed)
	db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE kind = 'refund'").Scan(&refunded)
	db.QueryRowContext(ctx, "SELECT COALESCE(SUM(balance), 0) FROM credit_accounts").Scan(&balance)
	require.Equal(t, granted-balance, (consumed-refunded)*1, "charged runs × cost = granted − balance")
}

// TestCreditNotices: a debit crossing the threshold queues one low-balance
// email through the job queue; the weekly summary reaches opted-in users
// only; the schedule queues each recurring job once per period.
func TestCreditNotices(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			env := environment(map[string]string{"DATABASE_URL": dbtest.URL(t, dialect), "SECRET_KEY": testSecret, "LOG_LEVEL": "error"})
			setupAccount(t, env, "notice@example.com")
			setupAccount(t, env, "quiet@example.com")
			a, err := newApp(ctx, invocation{getenv: env, stderr: io.Discard, clock: clock.System{}})
			require.NoError(t, err)
			defer a.Close()
			drain := func() {
				for {
					ran, err := a.jobs.RunOnce(ctx)
					require.NoError(t, err)
					if !ran {
						return
					}
				}
			}
			noticed, _ := a.accounts.Users.ByEmail(ctx, "notice@example.com")
			quiet, _ := a.accounts.Users.ByEmail(ctx, "quiet@example.com")
			for _, u := range []string{noticed.ID, quiet.ID} {
				_, err := a.credits.Ledger.Add(ctx, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 3})
				require.NoError(t, err)
			}
			a.credits.Ledger.SaveSettings(ctx, noticed.ID, credits.Settings{LowBalanceThreshold: 2, WeeklySummary: true})
			a.credits.Ledger.SaveSettings(ctx, quiet.ID, credits.Settings{WeeklySummary: false})
			for range 3 {
				_, err := a.credits.Services.Run(ctx, noticed.ID, "word-count", "", map[string]string{"text": "x"})
				require.NoError(t, err)
			}
			a.credits.Services.Run(ctx, quiet.ID, "word-count", "", map[string]string{"text": "x"})
			drain()

			// The summary of a week that includes now.
			weekEnd := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
			_, err = a.jobs.Enqueue(ctx, a.db, "credits.weekly_summary", "test-week", weekEnd, time.Now())
			require.NoError(t, err)
			drain()
			mails, err := a.outbox.Recent(ctx, 50)
			require.NoError(t, err)
			counts := map[string]int{}
			for _, m := range mails {
				counts[m.Message.To+" "+m.Message.Subject]++
			}
			assert.Equal(t, 1, counts["notice@example.com Your "+appName+" credits are running low"], "low-balance emails to notice@example.com: %v", counts)
			assert.Equal(t, 1, counts["notice@example.com Your "+appName+" week in credits"], "weekly summaries to the opted-in user: %v", counts)
			assert.Zero(t, counts["quiet@example.com Your "+appName+" week in credits"], "weekly summaries to the opted-out user: %v", counts)

			later, err := newApp(ctx, invocation{getenv: env, stderr: io.Discard, clock: clock.NewFake(time.Date(2030, 3, 6, 14, 30, 0, 0, time.UTC))})
			require.NoError(t, err)
			defer later.Close()
			for range 3 {
				require.NoError(t, later.jobs.Schedule(ctx))
			}
			var scheduled int
			a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs WHERE unique_key LIKE '%2030%'").Scan(&scheduled)
			require.Equal(t, 9, scheduled, "recurring jobs queued for one hour: expire, recover, jobs prune, weekly, sessions prune, rate-limit prune, unverified accounts, files purge, orphan sweep, each once")
		})
	}
}
