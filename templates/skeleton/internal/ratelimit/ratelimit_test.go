package ratelimit

import (
	"context"
	"errors"
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
func TestTakeIsExactUnderConcurrency(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			db := dbtest.Open(t, dialect)
			rule := Rule{Name: "test", Limit: 5, Window: time.Minute}
			var allowed atomic.Int32
			var wg sync.WaitGroup
			for range 50 {
				l := New(db, clock.System{}) // one limiter per "instance"
				wg.Go(func() {
					_, err := l.Take(context.Background(), Limit{rule, "198.51.100.7"})
					var exceeded *ExceededError
					if !errors.As(err, &exceeded) {
						assert.NoError(t, err)
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
			var last Slots
			for range rule.Limit {
				var err error
				last, err = l.Take(ctx, Limit{rule, "a@example.com"})
				require.NoError(t, err)
				clk.Advance(10 * time.Second)
			}
			var exceeded *ExceededError
			_, err := l.Take(ctx, Limit{rule, "a@example.com"})
			require.ErrorAs(t, err, &exceeded, "take %d within the window", rule.Limit+1)
			wait := exceeded.RetryAfter
			require.Greater(t, wait, time.Duration(0), "after %d events: wait %s", rule.Limit, wait)
			require.LessOrEqual(t, wait, rule.Window, "after %d events: wait %s", rule.Limit, wait)
			_, err = l.Take(ctx, Limit{rule, "b@example.com"})
			require.NoError(t, err, "another key is limited too")

			// Giving back the last event frees exactly one slot.
			require.NoError(t, l.Release(ctx, db, last))
			_, err = l.Take(ctx, Limit{rule, "a@example.com"})
			require.NoError(t, err, "no slot after a release")
			_, err = l.Take(ctx, Limit{rule, "a@example.com"})
			require.ErrorAs(t, err, &exceeded, "a release freed more than one slot")

			clk.Advance(wait)
			_, err = l.Take(ctx, Limit{rule, "a@example.com"})
			require.NoError(t, err, "still limited after the announced wait of %s", wait)
			require.NoError(t, l.Prune(ctx))
			var stored string
			require.NoError(t, db.QueryRowContext(ctx, "SELECT bucket FROM rate_events LIMIT 1").Scan(&stored))
			require.NotEqual(t, "login-account:a@example.com", stored, "bucket %q stores the key itself", stored)
			require.GreaterOrEqual(t, len(stored), 20, "bucket %q stores the key itself", stored)
		})
	}
}

// A take under two limits counts against both, or against neither when one
// is used up.
func TestTakeCountsAllOrNone(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			l := New(dbtest.Open(t, dialect), clock.System{})
			tight, loose := Rule{Name: "tight", Limit: 1, Window: time.Minute}, Rule{Name: "loose", Limit: 2, Window: time.Minute}
			_, err := l.Take(ctx, Limit{tight, "k"})
			require.NoError(t, err)
			var exceeded *ExceededError
			for range 3 {
				_, err = l.Take(ctx, Limit{loose, "k"}, Limit{tight, "k"})
				require.ErrorAs(t, err, &exceeded)
				require.Equal(t, "tight", exceeded.Rule, "the refusal names the used-up rule")
			}
			_, err = l.Take(ctx, Limit{loose, "k"})
			require.NoError(t, err, "refused takes counted against the loose rule")
		})
	}
}
