package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
					assert.NoError(t, err)
					if ok {
						allowed.Add(1)
					}
				})
			}
			wg.Wait()
			n := allowed.Load()
			require.Equal(t, int32(5), n, "%d of 50 concurrent requests allowed, want 5", n)
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
				require.NoError(t, l.Record(ctx, rule, "a@example.com"))
				clk.Advance(10 * time.Second)
			}
			exceeded, wait, err := l.Exceeded(ctx, rule, "a@example.com")
			require.NoError(t, err, "after %d failures: exceeded %v, wait %s, %v", rule.Limit, exceeded, wait, err)
			require.True(t, exceeded, "after %d failures: exceeded %v, wait %s, %v", rule.Limit, exceeded, wait, err)
			require.Greater(t, wait, time.Duration(0), "after %d failures: exceeded %v, wait %s, %v", rule.Limit, exceeded, wait, err)
			require.LessOrEqual(t, wait, rule.Window, "after %d failures: exceeded %v, wait %s, %v", rule.Limit, exceeded, wait, err)
			exceeded, _, _ = l.Exceeded(ctx, rule, "b@example.com")
			require.False(t, exceeded, "another key is limited too")
			clk.Advance(wait)
			exceeded, _, _ = l.Exceeded(ctx, rule, "a@example.com")
			require.False(t, exceeded, "still limited after the announced wait of %s", wait)
			require.NoError(t, l.Prune(ctx))
			var stored string
			require.NoError(t, db.QueryRowContext(ctx, "SELECT bucket FROM rate_events LIMIT 1").Scan(&stored))
			require.NotEqual(t, "login-account:a@example.com", stored, "bucket %q stores the key itself", stored)
			require.GreaterOrEqual(t, len(stored), 20, "bucket %q stores the key itself", stored)
		})
	}
}
