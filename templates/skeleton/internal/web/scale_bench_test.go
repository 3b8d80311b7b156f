package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// Seeded sizes of BenchmarkAtScale (issue 14, item 5).
const (
	scaleUsers       = 100_000 // in the admin list
	scaleLedgerUsers = 10_000  // of whom this many have credits
	scaleEntries     = 1_000_000
	scaleDays        = 365 // the entries spread over a year
	// The heavy user has this many entries on top, for the last history
	// page and the export.
	scaleHeavyEntries = 100_000
)

// BenchmarkAtScale measures the pages whose cost could grow with the data,
// on a database holding scaleEntries journal entries over
// scaleLedgerUsers accounts and scaleUsers users: each op is one request,
// and p50-ms and p99-ms are over all of them (goal: p99 under 50 ms). The
// export's B/op is its memory for scaleHeavyEntries rows against
// the light user's 100.
//
// Seeding takes minutes, so it runs only when BENCH_AT_SCALE=1 (make
// bench-scale, and the end of make bench).
func BenchmarkAtScale(b *testing.B) {
	if os.Getenv("BENCH_AT_SCALE") != "1" {
		b.Skip("seeding a million entries takes minutes: set BENCH_AT_SCALE=1 (make bench-scale)")
	}
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			a := migratedApp(b, d)
			admin := makeAdmin(b, a, "scale-admin@example.com")
			light := signUp(b, a, "light@example.com", "Light")
			heavy := signUp(b, a, "heavy@example.com", "Heavy")
			seedAtScale(b, a.db, userID(b, a, "light@example.com"), userID(b, a, "heavy@example.com"))
			for _, tc := range []struct {
				name, path string
				as         *client
				// heap: also report the most heap the request held
				// (peak-heap-MB), sampled, which slows it down.
				heap bool
			}{
				{"history", "/credits/history", light, false},
				{"history-heavy-first", "/credits/history", heavy, false},
				{"history-heavy-last", "/credits/history?page=999999", heavy, false},
				{"history-heavy-filtered", "/credits/history?kind=consumption&sort=-amount&page=999999", heavy, false},
				{"export-light", "/credits/history.csv", light, true},
				{"export-heavy", "/credits/history.csv", heavy, true},
				{"admin-users-search", "/admin/users?q=user4242", admin, false},
				{"admin-users-last", "/admin/users?page=999999", admin, false},
				{"admin-credits", "/admin/credits", admin, false},
			} {
				b.Run(tc.name, func(b *testing.B) {
					var took []time.Duration
					var peak uint64
					b.ReportAllocs()
					for b.Loop() {
						r := httptest.NewRequest(http.MethodGet, tc.path, nil)
						for _, ck := range tc.as.cookies {
							r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
						}
						// The body is counted, not kept, as a client
						// reading it would.
						w := &discardWriter{header: http.Header{}}
						var stop func() uint64
						if tc.heap {
							stop = sampleHeap()
						}
						start := time.Now()
						a.handler.ServeHTTP(w, r)
						took = append(took, time.Since(start))
						if stop != nil {
							peak = max(peak, stop())
						}
						require.Equal(b, http.StatusOK, w.status(), "GET %s = %d", tc.path, w.status())
						require.NotZero(b, w.n, "GET %s wrote nothing", tc.path)
					}
					slices.Sort(took)
					b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
					b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
					if tc.heap {
						b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
					}
				})
			}
		})
	}
}

func userID(t testing.TB, a *app, email string) string {
	t.Helper()
	var id string
	require.NoError(t, a.db.QueryRowContext(context.Background(), "SELECT id FROM users WHERE email_normalized = ?", email).Scan(&id))
	return id
}

// seedAtScale writes the users, accounts and journal entries in bulk, one
// statement per day of entries. The entries are services' runs, with a
// grant every tenth; balances are not kept consistent with them, which no
// page measured here checks.
func seedAtScale(t testing.TB, db *database.DB, light, heavy string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	exec := func(query string, args ...any) {
		t.Helper()
		_, err := db.ExecContext(ctx, query, args...)
		require.NoError(t, err, "seed: %s", query)
	}
	const batch = 1000
	for start := 0; start < scaleUsers; start += batch {
		at := now.Add(-time.Duration(scaleUsers-start) * time.Minute)
		exec(`WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, email_verified_at, password_changed_at, created_at)
			SELECT 'u' || i, 'user' || i || '@example.com', 'user' || i || '@example.com', 'User ' || i, 'x', 'user', TRUE, ?, ?, ? FROM n`,
			start, start+batch-1, at, at, at)
	}
	exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO credit_accounts (user_id, balance, created_at, updated_at) SELECT 'u' || i, 1000, ?, ? FROM n`,
		scaleLedgerUsers-1, now, now)
	for _, u := range []string{light, heavy} {
		exec(`INSERT INTO credit_accounts (user_id, balance, created_at, updated_at) VALUES (?, 1000, ?, ?) ON CONFLICT (user_id) DO NOTHING`, u, now, now)
	}
	entries := func(day, count int, user string) {
		t.Helper()
		at := now.Add(-time.Duration(scaleDays-day) * 24 * time.Hour)
		owner, args := fmt.Sprintf("'u' || (i %% %d)", scaleLedgerUsers), []any{count - 1, fmt.Sprintf("j%s-%d", user, day)}
		if user != "" {
			owner, args = "?", append(args, user)
		}
		exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO credit_journal (id, user_id, kind, amount, balance_after, service, created_at)
			SELECT ? || '-' || i, `+owner+`,
			       CASE WHEN i % 10 = 0 THEN 'grant' ELSE 'consumption' END,
			       CASE WHEN i % 10 = 0 THEN 100 ELSE -1 - i % 7 END,
			       1000,
			       CASE WHEN i % 10 = 0 THEN '' WHEN i % 3 = 0 THEN 'translate' ELSE 'summarize' END,
			       ? FROM n`, append(args, at)...)
	}
	for day := range scaleDays {
		entries(day, scaleEntries/scaleDays, "")
		entries(day, scaleHeavyEntries/scaleDays, heavy)
	}
	entries(scaleDays-1, 100, light)
	exec("ANALYZE") // the planner's statistics, as a database in use has them
}

// discardWriter is a response whose body is counted and dropped.
type discardWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	return len(b), nil
}
func (w *discardWriter) status() int { return w.code }

// sampleHeap starts watching the heap in use, from a collected baseline;
// the function it returns stops and gives the most it grew by.
func sampleHeap() func() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base, most := m.HeapInuse, m.HeapInuse
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				most = max(most, m.HeapInuse)
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return most - base
	}
}
