package credits_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func mustReverse(t *testing.T, l *credits.Ledger, r credits.Reversal) credits.Reversed {
	t.Helper()
	out, err := l.Reverse(context.Background(), r)
	require.NoError(t, err, "reverse %+v", r)
	return out
}

func balanceAndDebt(t *testing.T, l *credits.Ledger, user string) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	balance, err := l.Balance(ctx, user)
	require.NoError(t, err)
	debt, err := l.Debt(ctx, user)
	require.NoError(t, err)
	return balance, debt
}

// A claim's total moves only the difference: the same total twice moves
// nothing, a higher one takes the step, a lower one gives it back.
func TestReverseMovesTheClaimsDifference(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		claim := "stripe-refund-ch_1"

		assert.Equal(t, credits.Reversed{Taken: 30}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: claim, Total: 30, Reason: "refund"}))
		assert.Equal(t, credits.Reversed{}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: claim, Total: 30}), "the same total again")
		assert.Equal(t, credits.Reversed{Taken: 50}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: claim, Total: 80}), "a second refund")
		balance, debt := balanceAndDebt(t, l, u)
		assert.EqualValues(t, 20, balance)
		assert.Zero(t, debt)

		other := mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-dispute-dp_1", Total: 20})
		assert.Equal(t, credits.Reversed{Taken: 20}, other, "another claim counts on its own")
		assert.Equal(t, credits.Reversed{Restored: 20}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-dispute-dp_1", Total: 0}))
		balance, _ = balanceAndDebt(t, l, u)
		assert.EqualValues(t, 20, balance, "reinstated")
		mustVerify(t, l)
	})
}

// Row 63: a reversal takes back the refunded purchase's own credits
// first, not the expiring ones the user would spend first; past them, the
// usual order.
func TestReversalDrainsThePurchasesLotFirst(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		bought := mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		promo := mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 50, Priority: credits.PriorityExpiring,
			ExpiresAt: time.Now().Add(24 * time.Hour)})
		lotLeft := func(e credits.Entry) (n int64) {
			t.Helper()
			require.NoError(t, db.QueryRowContext(ctx, "SELECT remaining FROM credit_lots WHERE id = ?", e.LotID).Scan(&n))
			return n
		}

		mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-refund-ch_1", Total: 30, Grant: bought.ID, Reason: "refund"})
		assert.EqualValues(t, 70, lotLeft(bought), "the purchase's own lot")
		assert.EqualValues(t, 50, lotLeft(promo), "the expiring credits untouched")

		mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-refund-ch_1", Total: 120, Grant: bought.ID, Reason: "refund"})
		assert.EqualValues(t, 30, lotLeft(promo), "past the purchase's lot, the usual order")
		balance, debt := balanceAndDebt(t, l, u)
		assert.EqualValues(t, 30, balance)
		assert.Zero(t, debt)
		mustVerify(t, l)

		_, err := l.Reverse(ctx, credits.Reversal{UserID: u, Claim: "stripe-refund-ch_2", Total: 1, Grant: "nope"})
		assert.ErrorContains(t, err, "the grant nope of a reversal is not an entry of user")
	})
}

// Row 63: an administrator's grant to an account in debt pays the debt
// first: the result, and the audit row written with it, give the balance
// after the payment and name it.
func TestAdjustmentPayingADebtReportsTheFinalBalance(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u, admin := dbtest.NewUser(t, db), dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 70, Service: "s"})
		require.NoError(t, err)
		mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-refund-ch_1", Total: 100, Reason: "refund"})

		res, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: 100, Reason: "goodwill"})
		require.NoError(t, err)
		assert.EqualValues(t, 30, res.Balance, "the balance once the debt is paid")
		assert.EqualValues(t, 70, res.DebtPaid)
		balance, debt := balanceAndDebt(t, l, u)
		assert.EqualValues(t, 30, balance)
		assert.Zero(t, debt)
		entries, err := audit.NewLog(db).Recent(ctx, u, 1)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		assert.Equal(t, "+100 credits (before 0, after 30; 70 paid the debt of reversed payments): goodwill", entries[0].Detail)
		mustVerify(t, l)
	})
}

// Credits a won dispute gives back are no purchase: the overview's
// purchased total leaves them out and counts them as reinstated.
func TestReinstatedCreditsAreNoPurchase(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-dispute-dp_1", Total: 100, Reason: "dispute"})
		mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-dispute-dp_1", Total: 0, Reason: "dispute won"})
		totals, err := l.Totals(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 100, totals.Purchased, "bought once")
		assert.EqualValues(t, 100, totals.Reinstated)
		assert.EqualValues(t, 100, totals.Reversed)
		assert.EqualValues(t, 100, totals.Outstanding)
		mustVerify(t, l)
	})
}

// Row 63: a reversal takes the balance to zero and never below; the
// shortfall is a debt, paid first from the next credits in, and the
// ledger's check verifies it all.
func TestReversalAfterSpendingRecordsDebtPaidByNextCredits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 70, Service: "s"})
		require.NoError(t, err)

		out := mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-refund-ch_1", Total: 100, Reason: "refund"})
		assert.Equal(t, credits.Reversed{Taken: 30, Owed: 70}, out)
		balance, debt := balanceAndDebt(t, l, u)
		assert.Zero(t, balance, "never below zero")
		assert.EqualValues(t, 70, debt)
		totals, err := l.Totals(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 30, totals.Reversed, "taken off the balance")
		assert.EqualValues(t, 70, totals.Owed, "owed, for the admin overview")
		mustVerify(t, l)

		// Nothing to take at all: the whole reversal is owed.
		out = mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-dispute-dp_2", Total: 10})
		assert.Equal(t, credits.Reversed{Owed: 10}, out)
		assert.Equal(t, credits.Reversed{}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: "stripe-dispute-dp_2", Total: 10}), "owed once")

		_, err = l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s"})
		require.ErrorIs(t, err, credits.ErrInsufficient, "a debt is not spendable")

		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 50})
		balance, debt = balanceAndDebt(t, l, u)
		assert.Zero(t, balance, "the grant went to the debt")
		assert.EqualValues(t, 30, debt)
		mustVerify(t, l)

		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		balance, debt = balanceAndDebt(t, l, u)
		assert.EqualValues(t, 70, balance, "the rest of the debt paid, the rest of the purchase kept")
		assert.Zero(t, debt)
		mustVerify(t, l)
	})
}

// A dispute's funds withdrawn after the credits were spent, then
// reinstated: the debt is cancelled by the credits given back, and the
// account ends where it was.
func TestReinstatedClaimPaysItsOwnDebt(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 60, Service: "s"})
		require.NoError(t, err)
		claim := "stripe-dispute-dp_1"
		assert.Equal(t, credits.Reversed{Taken: 40, Owed: 60}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: claim, Total: 100}))
		assert.Equal(t, credits.Reversed{Restored: 100}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: claim, Total: 0}))
		balance, debt := balanceAndDebt(t, l, u)
		assert.EqualValues(t, 40, balance)
		assert.Zero(t, debt)
		assert.Equal(t, credits.Reversed{}, mustReverse(t, l, credits.Reversal{UserID: u, Claim: claim, Total: 0}), "reinstated once")
		mustVerify(t, l)
	})
}

// Row 63: the same reversal asked for by many at once moves its credits
// once.
func TestConcurrentReversalsMoveOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 40, Service: "s"})
		require.NoError(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total credits.Reversed
		for i := range 40 {
			wg.Go(func() {
				r := credits.Reversal{UserID: u, Claim: "stripe-refund-ch_1", Total: 90, Reason: fmt.Sprint("delivery ", i)}
				out, err := l.Reverse(ctx, r)
				assert.NoError(t, err)
				mu.Lock()
				total.Taken, total.Owed = total.Taken+out.Taken, total.Owed+out.Owed
				mu.Unlock()
			})
		}
		wg.Wait()
		assert.Equal(t, credits.Reversed{Taken: 60, Owed: 30}, total, "90 credits reversed once")
		balance, debt := balanceAndDebt(t, l, u)
		assert.Zero(t, balance)
		assert.EqualValues(t, 30, debt)
		mustVerify(t, l)
	})
}

// The check catches a debt whose payments do not add up, and an account
// that owes while it holds credits.
func TestVerifyChecksDebts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustReverse(t, l, credits.Reversal{UserID: u, Claim: "c", Total: 10})
		mustVerify(t, l)
		_, err := db.ExecContext(ctx, "UPDATE credit_debts SET remaining = 4 WHERE user_id = ?", u)
		require.NoError(t, err)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 20})
		_, err = db.ExecContext(ctx, "UPDATE credit_debts SET remaining = 1 WHERE user_id = ?", u)
		require.NoError(t, err)
		problems, err := l.Verify(ctx)
		require.NoError(t, err)
		var texts []string
		for _, p := range problems {
			texts = append(texts, p.String())
		}
		assert.Contains(t, texts, u+": owes 1 credits while holding 16")
		require.Len(t, texts, 2, "%v", texts)
		assert.Contains(t, texts[0], "paid, its payments say 4")
	})
}

func TestReverseRefusesBadRequests(t *testing.T) {
	db := dbtest.Open(t, database.SQLite)
	l := credits.New(db, clock.System{})
	u := dbtest.NewUser(t, db)
	_, err := l.Reverse(context.Background(), credits.Reversal{UserID: u, Claim: " ", Total: 1})
	require.ErrorContains(t, err, "needs the claim")
	_, err = l.Reverse(context.Background(), credits.Reversal{UserID: u, Claim: "c", Total: -1})
	require.ErrorContains(t, err, "from 0 to")
}
