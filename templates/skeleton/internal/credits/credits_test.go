package credits_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newUser inserts a user straight into the accounts table: the ledger only
// needs the row its foreign keys point at.
func newUser(t testing.TB, db *database.DB) string {
	t.Helper()
	id := rand.Text()
	now := time.Now().UTC()
	_, err := db.ExecContext(context.Background(),
		`INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, password_changed_at, created_at)
		 VALUES (?, ?, ?, 'Test', 'x', 'user', TRUE, ?, ?)`,
		id, id+"@example.com", strings.ToLower(id)+"@example.com", now, now)
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}

func forEachDialect(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, dbtest.Open(t, d)) })
	}
}

func mustVerify(t *testing.T, l *credits.Ledger) {
	t.Helper()
	problems, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("ledger invariants broken: %v", problems)
	}
}

func mustAdd(t *testing.T, l *credits.Ledger, c credits.Credit) credits.Entry {
	t.Helper()
	res, err := l.Add(context.Background(), c)
	if err != nil {
		t.Fatalf("add %+v: %v", c, err)
	}
	return res.Entry
}

func lotsRemaining(t *testing.T, db *database.DB, user string) []int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT remaining FROM credit_lots WHERE user_id = ? ORDER BY seq", user)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestConsumeDrainsExpiringThenOldest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})                                        // permanent, oldest
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})                                        // permanent, newer
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 5, ExpiresAt: time.Now().Add(48 * time.Hour)}) // expires later
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 5, ExpiresAt: time.Now().Add(24 * time.Hour)}) // expires sooner

		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 7, Service: "s"}); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(lotsRemaining(t, db, u)), "[10 10 3 0]"; got != want {
			t.Fatalf("after 7: lots = %s, want %s (soonest expiry first)", got, want)
		}
		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 8, Service: "s"}); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(lotsRemaining(t, db, u)), "[5 10 0 0]"; got != want {
			t.Fatalf("after 15: lots = %s, want %s (expiring, then oldest)", got, want)
		}
		mustVerify(t, l)
	})
}

func TestExpiry(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		clk := clock.NewFake(now)
		l := credits.New(db, clk)
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 4})
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 6, ExpiresAt: now.Add(time.Hour)})
		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 2, Service: "s"}); err != nil {
			t.Fatal(err)
		}

		clk.Advance(2 * time.Hour)
		n, err := l.ExpireDue(ctx)
		if err != nil || n != 1 {
			t.Fatalf("ExpireDue = %d, %v; want 1 account", n, err)
		}
		if n, _ := l.ExpireDue(ctx); n != 0 {
			t.Fatalf("a second sweep expired %d accounts, want 0", n)
		}
		if b, _ := l.Balance(ctx, u); b != 4 {
			t.Fatalf("balance after expiry = %d, want 4 (the 4 unexpired credits left)", b)
		}
		page, err := l.Journal(ctx, credits.Filter{UserID: u, Kind: credits.KindExpiry})
		if err != nil || page.Total != 1 || page.Entries[0].Amount != -4 || page.Entries[0].BalanceAfter != 4 {
			t.Fatalf("expiry entries = %+v, %v; want one of -4 leaving 4", page, err)
		}
		var insufficient *credits.InsufficientError
		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 5, Service: "s"}); !errors.As(err, &insufficient) ||
			insufficient.Balance != 4 || insufficient.Required != 5 {
			t.Fatalf("consume 5 of 4 = %v, want InsufficientError{4, 5}", err)
		}
		mustVerify(t, l)
	})
}

func TestConsumeExpiresDueLotsFirst(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		clk := clock.NewFake(now)
		l := credits.New(db, clk)
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 10, ExpiresAt: now.Add(time.Minute)})
		clk.Advance(time.Hour)
		// No sweep has run: the consumption itself must not spend expired credits.
		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s"}); !errors.Is(err, credits.ErrInsufficient) {
			t.Fatalf("consume from expired credits = %v, want ErrInsufficient", err)
		}
		mustVerify(t, l)
	})
}

func TestIdempotentReplay(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})
		first, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s", IdempotencyKey: "k1"})
		if err != nil || first.Replayed {
			t.Fatalf("first = %+v, %v", first, err)
		}
		again, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s", IdempotencyKey: "k1"})
		if err != nil || !again.Replayed || again.Entry.ID != first.Entry.ID || again.Entry.BalanceAfter != 7 {
			t.Fatalf("replay = %+v, %v; want the first result, replayed", again, err)
		}
		for _, d := range []credits.Debit{
			{UserID: u, Amount: 4, Service: "s", IdempotencyKey: "k1"},
			{UserID: u, Amount: 3, Service: "other", IdempotencyKey: "k1"},
		} {
			if _, err := l.Consume(ctx, d); !errors.Is(err, credits.ErrKeyReused) {
				t.Fatalf("replay with %+v = %v, want ErrKeyReused", d, err)
			}
		}
		if _, err := l.Add(ctx, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 3, IdempotencyKey: "k1"}); !errors.Is(err, credits.ErrKeyReused) {
			t.Fatalf("a purchase under a consumption's key = %v, want ErrKeyReused", err)
		}
		// Keys are per user: another user may use the same one.
		v := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: v, Kind: credits.KindPurchase, Amount: 3, IdempotencyKey: "k1"})
		if b, _ := l.Balance(ctx, u); b != 7 {
			t.Fatalf("balance = %d, want 7", b)
		}
		mustVerify(t, l)
	})
}

func TestRefund(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u, v := newUser(t, db), newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 3, ExpiresAt: time.Now().Add(time.Hour)})
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})
		used, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 5, Service: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Refund(ctx, v, used.Entry.ID, "work failed"); !errors.Is(err, credits.ErrNotFound) {
			t.Fatalf("refund of another user's entry = %v, want ErrNotFound", err)
		}
		refund, err := l.Refund(ctx, u, used.Entry.ID, "work failed")
		if err != nil || refund.Entry.Amount != 5 || refund.Entry.BalanceAfter != 13 || refund.Entry.Reference != used.Entry.ID {
			t.Fatalf("refund = %+v, %v", refund, err)
		}
		if got := fmt.Sprint(lotsRemaining(t, db, u)); got != "[3 10]" {
			t.Fatalf("lots after refund = %s, want the drained lots restored: [3 10]", got)
		}
		if _, err := l.Refund(ctx, u, used.Entry.ID, "again"); !errors.Is(err, credits.ErrAlreadyRefunded) {
			t.Fatalf("second refund = %v, want ErrAlreadyRefunded", err)
		}
		if _, err := l.Refund(ctx, u, refund.Entry.ID, "refund a refund"); err == nil {
			t.Fatal("refunding a refund succeeded")
		}
		mustVerify(t, l)
	})
}

func TestAdjust(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u, admin := newUser(t, db), newUser(t, db)
		if _, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: 5, Reason: " "}); err == nil {
			t.Fatal("an adjustment without a reason succeeded")
		}
		if _, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: 5, Reason: "welcome"}); err != nil {
			t.Fatal(err)
		}
		var insufficient *credits.InsufficientError
		if _, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: -6, Reason: "too much"}); !errors.As(err, &insufficient) {
			t.Fatalf("deducting 6 of 5 = %v, want InsufficientError", err)
		}
		res, err := l.Adjust(ctx, credits.Adjustment{UserID: u, ActorID: admin, Amount: -2, Reason: "duplicate grant"})
		if err != nil || res.Entry.Kind != credits.KindAdminDeduction || res.Entry.BalanceAfter != 3 || res.Entry.ActorID != admin {
			t.Fatalf("deduction = %+v, %v", res, err)
		}
		entries, err := audit.NewLog(db).Recent(ctx, u, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 {
			t.Fatalf("audit rows = %+v, want 2 (the refused deduction writes none)", entries)
		}
		if e := entries[0]; e.ActorID != admin || e.Action != "credits.admin_deduction" ||
			!strings.Contains(e.Detail, "before 5, after 3") || !strings.Contains(e.Detail, "duplicate grant") {
			t.Fatalf("audit row = %+v", e)
		}
		mustVerify(t, l)
	})
}

func TestReversePayment(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := newUser(t, db)
		bought := mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10, Reference: "pi_1"})
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 2})
		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 4, Service: "s"}); err != nil {
			t.Fatal(err)
		}
		res, err := l.ReversePayment(ctx, u, bought.ID, "chargeback")
		if err != nil || res.Entry.Amount != -6 || res.Entry.BalanceAfter != 2 {
			t.Fatalf("reversal = %+v, %v; want -6 leaving 2", res, err)
		}
		if _, err := l.ReversePayment(ctx, u, bought.ID, "again"); !errors.Is(err, credits.ErrAlreadyRefunded) {
			t.Fatalf("second reversal = %v, want ErrAlreadyRefunded", err)
		}
		mustVerify(t, l)
	})
}

func TestJournalFilters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		clk := clock.NewFake(now)
		l := credits.New(db, clk)
		u, v := newUser(t, db), newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 100})
		mustAdd(t, l, credits.Credit{UserID: v, Kind: credits.KindPurchase, Amount: 100})
		for i := range 5 {
			now = now.Add(time.Hour)
			clk.Set(now)
			service := "a"
			if i%2 == 1 {
				service = "b"
			}
			if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: int64(i + 1), Service: service}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := l.Journal(ctx, credits.Filter{UserID: u, Service: "a", PerPage: 2})
		if err != nil || page.Total != 3 || len(page.Entries) != 2 || page.Pages() != 2 || page.Entries[0].Amount != -5 {
			t.Fatalf("service a, newest first = %+v, %v", page, err)
		}
		page, err = l.Journal(ctx, credits.Filter{UserID: u, Sort: "amount"})
		if err != nil || page.Total != 6 || page.Entries[0].Amount != -5 || page.Entries[5].Amount != 100 {
			t.Fatalf("by amount = %+v, %v", page, err)
		}
		start := now.Add(-150 * time.Minute)
		page, err = l.Journal(ctx, credits.Filter{UserID: u, Kind: credits.KindConsumption, From: start, To: now})
		if err != nil || page.Total != 2 {
			t.Fatalf("date range = %+v, %v; want the 3rd and 4th consumption", page, err)
		}
		bad := []credits.Filter{
			{UserID: u, Kind: "gift"},
			{UserID: u, Sort: "random"},
			{UserID: u, From: now, To: start},
		}
		for _, bad := range bad {
			if _, err := l.Journal(ctx, bad); err == nil {
				t.Fatalf("filter %+v accepted", bad)
			}
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

// TestOneCreditFiftySpenders is SECURITY-CHECKLIST row 29 as written.
func TestOneCreditFiftySpenders(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 1})
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s"}); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, credits.ErrInsufficient) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if b, _ := l.Balance(ctx, u); ok.Load() != 1 || b != 0 {
			t.Fatalf("successes = %d, balance = %d; want 1 and 0", ok.Load(), b)
		}
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
		if len(broken) == 0 {
			t.Fatal("the invariant checks found nothing wrong with the naive ledger: they cannot catch a double spend")
		}
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
	if problems := checkConcurrentSpendingCollect(t, db, l, spend); len(problems) > 0 {
		t.Fatalf("ledger invariants broken under concurrency: %v", problems)
	}
}

// checkConcurrentSpendingCollect runs the workload and returns every broken
// invariant as text.
func checkConcurrentSpendingCollect(t *testing.T, db *database.DB, l *credits.Ledger, spend spender) []string {
	t.Helper()
	ctx := context.Background()
	users := make([]string, spendAccounts)
	for i := range users {
		users[i] = newUser(t, db)
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
		t.Fatalf("consume: %v", err)
	}

	var problems []string
	found, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range found {
		problems = append(problems, p.String())
	}
	var final, rows, keys int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(balance), 0) FROM credit_accounts").Scan(&final); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx,
		"SELECT COUNT(*), COUNT(DISTINCT user_id || ':' || idempotency_key) FROM credit_journal WHERE kind = 'consumption'").Scan(&rows, &keys); err != nil {
		t.Fatal(err)
	}
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
			if threshold != 5 {
				t.Errorf("threshold = %d, want 5", threshold)
			}
			notices = append(notices, balance)
			return nil
		})
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})
		if err := l.SaveSettings(ctx, u, credits.Settings{LowBalanceThreshold: 5, WeeklySummary: false}); err != nil {
			t.Fatal(err)
		}
		if s, _ := l.Settings(ctx, u); s.LowBalanceThreshold != 5 || s.WeeklySummary {
			t.Fatalf("settings = %+v", s)
		}
		spend := func(n int64) {
			t.Helper()
			if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: n, Service: "s"}); err != nil {
				t.Fatal(err)
			}
		}
		spend(4)                                                                         // 6: above
		spend(2)                                                                         // 4: crossed
		spend(1)                                                                         // 3: still below
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10}) // 13: re-armed
		spend(9)                                                                         // 4: crossed again
		if fmt.Sprint(notices) != "[4 4]" {
			t.Fatalf("notices at balances %v, want [4 4]", notices)
		}
		if err := l.SaveSettings(ctx, u, credits.Settings{LowBalanceThreshold: -1}); err == nil {
			t.Fatal("a negative threshold was accepted")
		}
	})
}
