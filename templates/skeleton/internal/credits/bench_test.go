package credits_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// BenchmarkConsume measures consumptions per second straight through the
// ledger, each with its own idempotency key, from many parallel callers (as
// a server has under load, which is what lets their consumptions share
// commits): on one hot account and spread over many accounts.
//
//	go test -run '^$' -bench Consume -count 5 ./internal/credits/
func BenchmarkConsume(b *testing.B) {
	for _, d := range dbtest.Dialects {
		for _, accounts := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/accounts=%d", d, accounts), func(b *testing.B) {
				benchConsume(b, dbtest.Open(b, d), accounts)
			})
		}
	}
}

// benchCallersPerCPU × GOMAXPROCS callers run at once.
const benchCallersPerCPU = 32

func benchConsume(b *testing.B, db *database.DB, accounts int) {
	ctx := context.Background()
	l := credits.New(db, clock.System{})
	users := make([]string, accounts)
	for i := range users {
		users[i] = dbtest.NewUser(b, db)
		_, err := l.Add(ctx, credits.Credit{UserID: users[i], Kind: credits.KindPurchase, Amount: credits.MaxAmount})
		require.NoError(b, err)
	}
	var next atomic.Int64
	b.SetParallelism(benchCallersPerCPU)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			_, err := l.Consume(ctx, credits.Debit{UserID: users[n%int64(accounts)], Amount: 1, Service: "bench", IdempotencyKey: fmt.Sprint("k", n)})
			if !assert.NoError(b, err) {
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "consumes/s")
	problems, err := l.Verify(ctx)
	require.NoError(b, err)
	require.Empty(b, problems, "ledger after the benchmark")
}
