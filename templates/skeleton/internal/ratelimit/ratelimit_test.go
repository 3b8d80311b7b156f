package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Fifty concurrent requests against a limit of five: exactly five pass,
// on both databases (the count holds across instances sharing one).
func TestAllowIsExactUnderConcurrency(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			db := dbtest.Open(t, dialect)
			rule := Rule{Name: "test", Limit: 5, Window: time.Minute}
			var allowed atomic.Int32
			var wg sync.WaitGroup
			for range 50 {
				l := New(db, clock.System{}) // one limiter per "instance"
				wg.Go(func() {
					ok, _, err := l.Allow(context.Background(), rule, "198.51.100.7")
					if err != nil {
						t.Error(err)
					}
					if ok {
						allowed.Add(1)
					}
				})
			}
			wg.Wait()
			if n := allowed.Load(); n != 5 {
				t.Fatalf("%d of 50 concurrent requests allowed, want 5", n)
			}
		})
	}
}

func TestWindowSlidesAndKeysAreSeparate(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
			l := New(db, clk)
			rule := Rule{Name: "login-account", Limit: 5, Window: 5 * time.Minute}
			for range rule.Limit {
				if err := l.Record(ctx, rule, "a@example.com"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(10 * time.Second)
			}
			exceeded, wait, err := l.Exceeded(ctx, rule, "a@example.com")
			if err != nil || !exceeded || wait <= 0 || wait > rule.Window {
				t.Fatalf("after %d failures: exceeded %v, wait %s, %v", rule.Limit, exceeded, wait, err)
			}
			if exceeded, _, _ := l.Exceeded(ctx, rule, "b@example.com"); exceeded {
				t.Fatal("another key is limited too")
			}
			clk.Advance(wait)
			if exceeded, _, _ := l.Exceeded(ctx, rule, "a@example.com"); exceeded {
				t.Fatalf("still limited after the announced wait of %s", wait)
			}
			if err := l.Prune(ctx); err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := db.QueryRowContext(ctx, "SELECT bucket FROM rate_events LIMIT 1").Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored == "login-account:a@example.com" || len(stored) < 20 {
				t.Fatalf("bucket %q stores the key itself", stored)
			}
		})
	}
}
