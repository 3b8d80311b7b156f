package credits_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
)

// The admin overview's ranking: net use (refunds taken off) within the
// period only, users who used nothing net left out, ties by user id, each
// with the address and balance of the user.
func TestTopConsumers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
		l := credits.New(db, clk)
		consume := func(user string, amount int64) credits.Entry {
			t.Helper()
			res, err := l.Consume(ctx, credits.Debit{UserID: user, Amount: amount, Service: "s"})
			require.NoError(t, err)
			return res.Entry
		}
		users := []string{dbtest.NewUser(t, db), dbtest.NewUser(t, db), dbtest.NewUser(t, db), dbtest.NewUser(t, db)}
		for _, u := range users {
			mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		}
		old := users[2]
		consume(old, 50) // before the period
		clk.Advance(40 * 24 * time.Hour)
		since := clk.Now().Add(-30 * 24 * time.Hour)

		tied := slices.Sorted(slices.Values([]string{users[0], users[3]}))
		consume(tied[0], 5)
		consume(tied[0], 3)
		consume(tied[1], 8)
		refunded := consume(users[1], 10)
		_, err := l.Refund(ctx, users[1], refunded.ID, "failed")
		require.NoError(t, err)
		consume(old, 2)

		top, err := l.TopConsumers(ctx, since, 10)
		require.NoError(t, err)
		assert.Equal(t, []credits.Consumer{
			{UserID: tied[0], Email: tied[0] + "@example.com", Consumed: 8, Balance: 92},
			{UserID: tied[1], Email: tied[1] + "@example.com", Consumed: 8, Balance: 92},
			{UserID: old, Email: old + "@example.com", Consumed: 2, Balance: 48},
		}, top)

		top, err = l.TopConsumers(ctx, since, 1)
		require.NoError(t, err)
		assert.Equal(t, []string{tied[0]}, []string{top[0].UserID}, "the limit keeps the first of the ranking")
		assert.Len(t, top, 1)
	})
}

// The ledger-wide totals come from credit_totals, which migration 0012
// fills from the journal already written and a trigger keeps with every
// entry after; credits check notices when they drift apart.
func TestTotalsBackfilledAndKept(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
		m, err := migrate.New(db, clk)
		require.NoError(t, err)
		for {
			v, err := m.Current(ctx)
			require.NoError(t, err)
			if v < 12 {
				break
			}
			_, err = m.Down(ctx)
			require.NoError(t, err)
		}
		l := credits.New(db, clk)
		u, v := dbtest.NewUser(t, db), dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		mustAdd(t, l, credits.Credit{UserID: v, Kind: credits.KindGrant, Amount: 7, ExpiresAt: clk.Now().Add(time.Hour)})
		_, err = l.Consume(ctx, credits.Debit{UserID: u, Amount: 30, Service: "s"})
		require.NoError(t, err)
		_, err = m.Up(ctx) // 0012 backfills what the journal holds
		require.NoError(t, err)

		used, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 5, Service: "s"})
		require.NoError(t, err)
		_, err = l.Refund(ctx, u, used.Entry.ID, "failed")
		require.NoError(t, err)
		_, err = l.Adjust(ctx, credits.Adjustment{UserID: v, ActorID: u, Amount: -2, Reason: "fix"})
		require.NoError(t, err)
		clk.Advance(2 * time.Hour)
		_, err = l.ExpireDue(ctx)
		require.NoError(t, err)

		totals, err := l.Totals(ctx)
		require.NoError(t, err)
		assert.Equal(t, credits.Totals{Purchased: 100, Granted: 7, Consumed: 35, Refunded: 5, Expired: 5, Deducted: 2,
			Outstanding: 70, Accounts: 2}, totals)
		mustVerify(t, l)

		_, err = db.ExecContext(ctx, "UPDATE credit_totals SET amount = amount + 1 WHERE user_id = ? AND kind = 'purchase'", u)
		require.NoError(t, err)
		problems, err := l.Verify(ctx)
		require.NoError(t, err)
		assert.Equal(t, []credits.Problem{{UserID: u, What: "purchase entries: 1 summing to 100 in the journal, 1 summing to 101 in credit_totals"}}, problems)
	})
}
