package credits_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

func TestMain(m *testing.M) { dbtest.Main(m) }

func forEachDialect(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, dbtest.Open(t, d)) })
	}
}

func mustVerify(t *testing.T, l *credits.Ledger) {
	t.Helper()
	problems, err := l.Verify(context.Background())
	require.NoError(t, err)
	require.Empty(t, problems, "ledger invariants broken")
}

func mustAdd(t *testing.T, l *credits.Ledger, c credits.Credit) credits.Entry {
	t.Helper()
	res, err := l.Add(context.Background(), c)
	require.NoError(t, err, "add %+v", c)
	return res.Entry
}

func lotsRemaining(t *testing.T, db *database.DB, user string) []int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT remaining FROM credit_lots WHERE user_id = ? ORDER BY seq", user)
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	return out
}

func TestConsumeDrainsExpiringThenOldest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})                                        // permanent, oldest
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})                                        // permanent, newer
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 5, ExpiresAt: time.Now().Add(48 * time.Hour)}) // expires later
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 5, ExpiresAt: time.Now().Add(24 * time.Hour)}) // expires sooner

		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 7, Service: "s"})
		require.NoError(t, err)
		require.Equal(t, []int64{10, 10, 3, 0}, lotsRemaining(t, db, u), "after 7: soonest expiry first")
		_, err = l.Consume(ctx, credits.Debit{UserID: u, Amount: 8, Service: "s"})
		require.NoError(t, err)
		require.Equal(t, []int64{5, 10, 0, 0}, lotsRemaining(t, db, u), "after 15: expiring, then oldest")
		mustVerify(t, l)
	})
}

func TestExpiry(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		clk := clock.NewFake(now)
		l := credits.New(db, clk)
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 4})
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 6, ExpiresAt: now.Add(time.Hour)})
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 2, Service: "s"})
		require.NoError(t, err)

		clk.Advance(2 * time.Hour)
		n, err := l.ExpireDue(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "accounts expired")
		n, _ = l.ExpireDue(ctx)
		require.Zero(t, n, "accounts a second sweep expired")
		b, _ := l.Balance(ctx, u)
		require.EqualValues(t, 4, b, "balance after expiry: the 4 unexpired credits left")
		page, err := l.Journal(ctx, credits.Filter{UserID: u, Kind: credits.KindExpiry})
		require.NoError(t, err)
		require.Equal(t, 1, page.Total, "expiry entries: %+v", page)
		require.EqualValues(t, -4, page.Entries[0].Amount, "the expiry")
		require.EqualValues(t, 4, page.Entries[0].BalanceAfter, "the balance the expiry leaves")
		var insufficient *credits.InsufficientError
		_, err = l.Consume(ctx, credits.Debit{UserID: u, Amount: 5, Service: "s"})
		require.ErrorAs(t, err, &insufficient, "consume 5 of 4")
		require.Equal(t, credits.InsufficientError{Balance: 4, Required: 5}, *insufficient, "consume 5 of 4")
		mustVerify(t, l)
	})
}

func TestConsumeExpiresDueLotsFirst(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		clk := clock.NewFake(now)
		l := credits.New(db, clk)
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 10, ExpiresAt: now.Add(time.Minute)})
		clk.Advance(time.Hour)
		// No sweep has run: the consumption itself must not spend expired credits.
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s"})
		require.ErrorIs(t, err, credits.ErrInsufficient, "consume from expired credits")
		mustVerify(t, l)
	})
}

func TestIdempotentReplay(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})
		first, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s", IdempotencyKey: "k1"})
		require.NoError(t, err)
		require.False(t, first.Replayed, "the first use of a key")
		again, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s", IdempotencyKey: "k1"})
		require.NoError(t, err, "replay")
		require.True(t, again.Replayed, "replay")
		require.Equal(t, first.Entry.ID, again.Entry.ID, "the replay is the first result")
		require.EqualValues(t, 7, again.Entry.BalanceAfter, "replay")
		for _, d := range []credits.Debit{
			{UserID: u, Amount: 4, Service: "s", IdempotencyKey: "k1"},
			{UserID: u, Amount: 3, Service: "other", IdempotencyKey: "k1"},
		} {
			_, err := l.Consume(ctx, d)
			require.ErrorIs(t, err, credits.ErrKeyReused, "replay with %+v", d)
		}
		_, err = l.Add(ctx, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 3, IdempotencyKey: "k1"})
		require.ErrorIs(t, err, credits.ErrKeyReused, "a purchase under a consumption's key")
		// Keys are per user: another user may use the same one.
		v := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: v, Kind: credits.KindPurchase, Amount: 3, IdempotencyKey: "k1"})
		b, _ := l.Balance(ctx, u)
		require.EqualValues(t, 7, b, "balance")
		mustVerify(t, l)
	})
}

func TestRefund(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u, v := dbtest.NewUser(t, db), dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 3, ExpiresAt: time.Now().Add(time.Hour)})
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})
		used, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 5, Service: "s"})
		require.NoError(t, err)
		_, err = l.Refund(ctx, v, used.Entry.ID, "work failed")
		require.ErrorIs(t, err, credits.ErrNotFound, "refund of another user's entry")
		refund, err := l.Refund(ctx, u, used.Entry.ID, "work failed")
		require.NoError(t, err)
		require.EqualValues(t, 5, refund.Entry.Amount, "refund")
		require.EqualValues(t, 13, refund.Entry.BalanceAfter, "refund")
		require.Equal(t, used.Entry.ID, refund.Entry.Reference, "refund")
		require.Equal(t, []int64{3, 10}, lotsRemaining(t, db, u), "lots after refund: the drained lots restored")
		_, err = l.Refund(ctx, u, used.Entry.ID, "again")
		require.ErrorIs(t, err, credits.ErrAlreadyRefunded, "second refund")
		_, err = l.Refund(ctx, u, refund.Entry.ID, "refund a refund")
		require.Error(t, err, "refunding a refund succeeded")
		mustVerify(t, l)
	})
}

func TestAdjust(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u, admin := dbtest.NewUser(t, db), dbtest.NewUser(t, db)
		_, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: 5, Reason: " "})
		require.Error(t, err, "an adjustment without a reason succeeded")
		_, err = l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: 5, Reason: "welcome"})
		require.NoError(t, err)
		var insufficient *credits.InsufficientError
		_, err = l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: -6, Reason: "too much"})
		require.ErrorAs(t, err, &insufficient, "deducting 6 of 5")
		res, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: -2, Reason: "duplicate grant"})
		require.NoError(t, err)
		require.Equal(t, credits.KindAdminDeduction, res.Entry.Kind, "deduction")
		require.EqualValues(t, 3, res.Entry.BalanceAfter, "deduction")
		require.Equal(t, admin, res.Entry.ActorID, "deduction")
		entries, err := audit.NewLog(db).Recent(ctx, u, 10)
		require.NoError(t, err)
		require.Len(t, entries, 2, "audit rows: the refused deduction writes none")
		e := entries[0]
		require.Equal(t, admin, e.ActorID, "audit row")
		require.Equal(t, "credits.admin_deduction", e.Action, "audit row")
		require.Contains(t, e.Detail, "before 5, after 3", "audit row")
		require.Contains(t, e.Detail, "duplicate grant", "audit row")
		mustVerify(t, l)
	})
}

func TestJournalFilters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		clk := clock.NewFake(now)
		l := credits.New(db, clk)
		u, v := dbtest.NewUser(t, db), dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		mustAdd(t, l, credits.Credit{UserID: v, Kind: credits.KindPurchase, Amount: 100})
		for i := range 5 {
			now = now.Add(time.Hour)
			clk.Set(now)
			service := "a"
			if i%2 == 1 {
				service = "b"
			}
			_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: int64(i + 1), Service: service})
			require.NoError(t, err)
		}
		page, err := l.Journal(ctx, credits.Filter{UserID: u, Service: "a", PerPage: 2})
		require.NoError(t, err)
		require.Equal(t, 3, page.Total, "service a")
		require.Len(t, page.Entries, 2, "service a, a page of 2")
		require.Equal(t, 2, page.Pages(), "service a")
		require.EqualValues(t, -5, page.Entries[0].Amount, "service a, newest first")
		page, err = l.Journal(ctx, credits.Filter{UserID: u, Sort: "amount"})
		require.NoError(t, err)
		require.Equal(t, 6, page.Total, "by amount")
		require.EqualValues(t, -5, page.Entries[0].Amount, "by amount, the largest debit first")
		require.EqualValues(t, 100, page.Entries[5].Amount, "by amount, the largest credit last")
		start := now.Add(-150 * time.Minute)
		page, err = l.Journal(ctx, credits.Filter{UserID: u, Kind: credits.KindConsumption, From: start, To: now})
		require.NoError(t, err)
		require.Equal(t, 2, page.Total, "the date range selects the 3rd and 4th consumption")
		bad := []credits.Filter{
			{UserID: u, Kind: "gift"},
			{UserID: u, Sort: "random"},
			{UserID: u, From: now, To: start},
		}
		for _, bad := range bad {
			_, err := l.Journal(ctx, bad)
			require.Error(t, err, "filter %+v accepted", bad)
		}
	})
}

// TestConcurrentConsumption is the double-spend test: many goroutines spend
// from few accounts, some repeating idempotency keys, and the books must
// still balance exactly.
func TestConcurrentConsumption(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ledger := credits.New(db, clock.System{})
		checkConcurrentSpending(t, db, ledger, func(ctx context.Context, d credits.Debit) (bool, error) {
			res, err := ledger.Consume(ctx, d)
			return err == nil && !res.Replayed, err
		})
	})
}

// TestOneCreditFiftySpenders is SECURITY.md row 29 as written.
func TestOneCreditFiftySpenders(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 1})
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s"}); err == nil {
					ok.Add(1)
				} else {
					assert.ErrorIs(t, err, credits.ErrInsufficient)
				}
			})
		}
		wg.Wait()
		b, _ := l.Balance(ctx, u)
		require.EqualValues(t, 1, ok.Load(), "successes")
		require.Zero(t, b, "balance")
		mustVerify(t, l)
	})
}

// TestInvariantCheckCatchesNaiveLedger is the negative control: the same
// workload and checks against a deliberately naive ledger (read the balance,
// then write it back, outside any transaction) must report a problem, or the
// checks above prove nothing.
func TestInvariantCheckCatchesNaiveLedger(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		broken := checkConcurrentSpendingCollect(t, db, credits.New(db, clock.System{}), func(ctx context.Context, d credits.Debit) (bool, error) {
			return naiveConsume(ctx, db, d)
		})
		require.NotEmpty(t, broken, "the invariant checks found nothing wrong with the naive ledger: they cannot catch a double spend")
		t.Logf("the checks caught the naive ledger: %v", broken[:min(3, len(broken))])
	})
}

// naiveConsume reads, decides and writes in separate statements, as
// ledgers that double-spend do. It exists only to test the tests.
func naiveConsume(ctx context.Context, db *database.DB, d credits.Debit) (bool, error) {
	if d.IdempotencyKey != "" {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE user_id = ? AND idempotency_key = ?", d.UserID, d.IdempotencyKey).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
	}
	var balance int64
	if err := db.QueryRowContext(ctx, "SELECT balance FROM credit_accounts WHERE user_id = ?", d.UserID).Scan(&balance); err != nil {
		return false, err
	}
	if balance < d.Amount {
		return false, &credits.InsufficientError{Balance: balance, Required: d.Amount}
	}
	time.Sleep(time.Millisecond) // the window every real system has, widened
	now := time.Now().UTC()
	if _, err := db.ExecContext(ctx, "UPDATE credit_accounts SET balance = ? WHERE user_id = ?", balance-d.Amount, d.UserID); err != nil {
		return false, err
	}
	var key any
	if d.IdempotencyKey != "" {
		key = d.IdempotencyKey
	}
	_, err := db.ExecContext(ctx,
		`INSERT INTO credit_journal (id, user_id, kind, amount, balance_after, service, idempotency_key, created_at)
		 VALUES (?, ?, 'consumption', ?, ?, ?, ?, ?)`,
		rand.Text(), d.UserID, -d.Amount, balance-d.Amount, d.Service, key, now)
	if err != nil {
		// A unique-key clash is the naive ledger's own replay detection
		// arriving late; the balance was already lowered.
		return false, nil
	}
	if _, err := db.ExecContext(ctx,
		`UPDATE credit_lots SET remaining = remaining - ? WHERE id = (SELECT id FROM credit_lots WHERE user_id = ? AND remaining >= ? ORDER BY seq LIMIT 1)`,
		d.Amount, d.UserID, d.Amount); err != nil {
		// The lot's CHECK refused to go below zero, after the journal row
		// and the balance were written: the spend stands, half recorded.
		return true, nil
	}
	return true, nil
}

const (
	spendAccounts   = 4
	spendWorkers    = 24
	spendPerWorker  = 12
	spendCost       = 3
	spendGrant      = 90 // per account, in three lots: 30 spends of the 40 keys
	spendKeySpace   = 40 // keys per account, fewer than attempts: many repeat
	spendAttempts   = spendWorkers * spendPerWorker
	totalGranted    = spendAccounts * spendGrant
	lotsPerAccounts = 3
)

type spender func(ctx context.Context, d credits.Debit) (fresh bool, err error)

func checkConcurrentSpending(t *testing.T, db *database.DB, l *credits.Ledger, spend spender) {
	t.Helper()
	require.Empty(t, checkConcurrentSpendingCollect(t, db, l, spend), "ledger invariants broken under concurrency")
}

// checkConcurrentSpendingCollect runs the workload and returns every broken
// invariant as text.
func checkConcurrentSpendingCollect(t *testing.T, db *database.DB, l *credits.Ledger, spend spender) []string {
	t.Helper()
	ctx := context.Background()
	users := make([]string, spendAccounts)
	for i := range users {
		users[i] = dbtest.NewUser(t, db)
		for range lotsPerAccounts {
			mustAdd(t, l, credits.Credit{UserID: users[i], Kind: credits.KindPurchase, Amount: spendGrant / lotsPerAccounts})
		}
	}
	var fresh, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, spendAttempts)
	for w := range spendWorkers {
		wg.Go(func() {
			for i := range spendPerWorker {
				n := w*spendPerWorker + i
				d := credits.Debit{
					UserID:         users[n%spendAccounts],
					Amount:         spendCost,
					Service:        "test",
					IdempotencyKey: fmt.Sprintf("key-%d", (n/spendAccounts)%spendKeySpace),
				}
				ok, err := spend(ctx, d)
				switch {
				case errors.Is(err, credits.ErrInsufficient):
					refused.Add(1)
				case err != nil:
					errs <- err
				case ok:
					fresh.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "consume")
	}

	var problems []string
	found, err := l.Verify(ctx)
	require.NoError(t, err)
	for _, p := range found {
		problems = append(problems, p.String())
	}
	var final, rows, keys int64
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COALESCE(SUM(balance), 0) FROM credit_accounts").Scan(&final))
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT COUNT(*), COUNT(DISTINCT user_id || ':' || idempotency_key) FROM credit_journal WHERE kind = 'consumption'").Scan(&rows, &keys))
	if rows != keys {
		problems = append(problems, fmt.Sprintf("%d consumption rows for %d keys", rows, keys))
	}
	if rows != fresh.Load() {
		problems = append(problems, fmt.Sprintf("%d consumption rows, %d acknowledged as new", rows, fresh.Load()))
	}
	if got := fresh.Load() * spendCost; got != totalGranted-final {
		problems = append(problems, fmt.Sprintf("successes × cost = %d, granted − final balance = %d", got, totalGranted-final))
	}
	t.Logf("%d new consumptions, %d refused, final balance %d of %d", fresh.Load(), refused.Load(), final, totalGranted)
	return problems
}

// One notice per crossing: falling below the threshold notifies once, more
// spending below it does not, and credits that lift the balance back re-arm
// it.
func TestLowBalanceNoticeOncePerCrossing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		var notices []int64
		l.OnLowBalance(func(ctx context.Context, tx *database.Tx, userID string, balance, threshold int64) error {
			assert.EqualValues(t, 5, threshold, "threshold")
			notices = append(notices, balance)
			return nil
		})
		u := dbtest.NewUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})
		require.NoError(t, l.SaveSettings(ctx, u, credits.Settings{LowBalanceThreshold: 5, WeeklySummary: false}))
		s, _ := l.Settings(ctx, u)
		require.Equal(t, credits.Settings{LowBalanceThreshold: 5, WeeklySummary: false}, s, "settings")
		spend := func(n int64) {
			t.Helper()
			_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: n, Service: "s"})
			require.NoError(t, err)
		}
		spend(4)                                                                         // 6: above
		spend(2)                                                                         // 4: crossed
		spend(1)                                                                         // 3: still below
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10}) // 13: re-armed
		spend(9)                                                                         // 4: crossed again
		require.Equal(t, []int64{4, 4}, notices, "notices at balances")
		require.Error(t, l.SaveSettings(ctx, u, credits.Settings{LowBalanceThreshold: -1}), "a negative threshold was accepted")
	})
}
