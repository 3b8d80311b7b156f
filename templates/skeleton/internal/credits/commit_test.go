package credits_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
)

// TestBatchIsolatesFailures: among concurrent consumptions sharing commits,
// those whose hook fails or panics leave nothing behind and are told so,
// and every other one is applied exactly once.
func TestBatchIsolatesFailures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		users := []string{newUser(t, db), newUser(t, db), newUser(t, db)}
		for _, u := range users {
			mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 1000})
		}
		errHook := errors.New("the caller's record could not be written")
		var ok, failed atomic.Int64
		var wg sync.WaitGroup
		for i := range 90 {
			wg.Go(func() {
				d := credits.Debit{UserID: users[i%len(users)], Amount: 2, Service: "s", IdempotencyKey: fmt.Sprint("k", i)}
				_, err := l.ConsumeWith(ctx, d, func(context.Context, *groupcommit.Tx, credits.Entry) error {
					switch i % 10 {
					case 3:
						return errHook
					case 7:
						panic("a hook bug")
					}
					return nil
				})
				switch {
				case err == nil:
					ok.Add(1)
					if i%10 == 3 || i%10 == 7 {
						t.Errorf("consumption %d succeeded though its hook failed", i)
					}
				case i%10 == 3 && errors.Is(err, errHook), i%10 == 7:
					failed.Add(1)
				default:
					t.Errorf("consumption %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		var rows int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE kind = 'consumption'").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, u := range users {
			b, err := l.Balance(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			total += b
		}
		if ok.Load() != 72 || failed.Load() != 18 || rows != 72 || total != 3000-2*72 {
			t.Fatalf("%d applied, %d failed, %d journal rows, balances %d; want 72, 18, 72, %d", ok.Load(), failed.Load(), rows, total, 3000-2*72)
		}
		mustVerify(t, l)
	})
}

// TestQueuedRowsIsolateFailures: rows that hooks and writes queue go out
// together; when one of them cannot be written, its operation alone fails
// and leaves nothing behind, and every other row and charge is written
// exactly once.
func TestQueuedRowsIsolateFailures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, "CREATE TABLE hook_rows (id TEXT PRIMARY KEY, journal_id TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO hook_rows (id, journal_id) VALUES ('taken', '')"); err != nil {
			t.Fatal(err)
		}
		rows := &groupcommit.Rows{What: "record the hook's row", Head: "INSERT INTO hook_rows (id, journal_id) VALUES ", Row: "(?, ?)"}
		l := credits.New(db, clock.System{})
		users := []string{newUser(t, db), newUser(t, db)}
		for _, u := range users {
			mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 1000})
		}
		// Every fifth row collides with the row already there.
		id := func(i int) string {
			if i%5 == 4 {
				return "taken"
			}
			return fmt.Sprint("row", i)
		}
		var charged, written, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 120 {
			wg.Go(func() {
				u := users[i%len(users)]
				var err error
				if i%2 == 0 {
					_, err = l.ConsumeWith(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s"}, func(ctx context.Context, tx *groupcommit.Tx, e credits.Entry) error {
						return tx.Queue(ctx, rows, id(i), e.ID)
					})
				} else {
					err = l.Write(ctx, u, func(ctx context.Context, tx *groupcommit.Tx) error { return tx.Queue(ctx, rows, id(i), "") })
				}
				switch {
				case i%5 == 4 && err == nil:
					t.Errorf("operation %d succeeded though its row collides", i)
				case i%5 == 4:
					refused.Add(1)
					if !strings.Contains(err.Error(), "record the hook's row") {
						t.Errorf("operation %d: %v, want the row's failure", i, err)
					}
				case err != nil:
					t.Errorf("operation %d: %v", i, err)
				case i%2 == 0:
					charged.Add(1)
				default:
					written.Add(1)
				}
			})
		}
		wg.Wait()
		var hookRows, charges, total int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM hook_rows WHERE id <> 'taken'").Scan(&hookRows); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE kind = 'consumption'").Scan(&charges); err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			b, err := l.Balance(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			total += b
		}
		if refused.Load() != 24 || charged.Load() != 48 || written.Load() != 48 || hookRows != 96 || charges != 48 || total != 2000-3*48 {
			t.Fatalf("%d refused, %d charged, %d written; %d rows, %d charges, balances %d; want 24, 48, 48; 96, 48, %d",
				refused.Load(), charged.Load(), written.Load(), hookRows, charges, total, 2000-3*48)
		}
		mustVerify(t, l)
	})
}

// TestQueueChecksItsValues: a row with the wrong number of values is
// refused before anything is written.
func TestQueueChecksItsValues(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := newUser(t, db)
		rows := &groupcommit.Rows{What: "record two values", Head: "INSERT INTO nowhere (a, b) VALUES ", Row: "(?, ?)"}
		err := l.Write(ctx, u, func(ctx context.Context, tx *groupcommit.Tx) error { return tx.Queue(ctx, rows, "one") })
		if err == nil || !strings.Contains(err.Error(), "1 values for a row of 2") {
			t.Fatalf("Queue with one value for two = %v", err)
		}
	})
}

// TestCancelledCaller: a caller that gives up while its operation waits
// withdraws it, and one that gives up after a batch took it still gets,
// and has, the result. Never both, never neither.
func TestCancelledCaller(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := newUser(t, db)
		mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 10})

		// A holds its batch open in its hook until released; its caller gives
		// up meanwhile.
		inHook, release := make(chan struct{}), make(chan struct{})
		actx, cancelA := context.WithCancel(ctx)
		type outcome struct {
			res credits.Result
			err error
		}
		aDone := make(chan outcome, 1)
		go func() {
			res, err := l.ConsumeWith(actx, credits.Debit{UserID: u, Amount: 1, Service: "s", IdempotencyKey: "a"},
				func(context.Context, *groupcommit.Tx, credits.Entry) error {
					close(inHook)
					<-release
					return nil
				})
			aDone <- outcome{res, err}
		}()
		<-inHook
		cancelA()

		// B waits behind A's batch; its caller gives up before any batch
		// takes it.
		bctx, cancelB := context.WithCancel(ctx)
		bDone := make(chan error, 1)
		go func() {
			_, err := l.Consume(bctx, credits.Debit{UserID: u, Amount: 1, Service: "s", IdempotencyKey: "b"})
			bDone <- err
		}()
		cancelB()
		if err := <-bDone; !errors.Is(err, context.Canceled) {
			t.Fatalf("withdrawn consumption = %v, want context.Canceled", err)
		}
		close(release)
		a := <-aDone
		if a.err != nil || a.res.Entry.BalanceAfter != 9 {
			t.Fatalf("consumption taken before its caller gave up = %+v, %v; want it applied, balance 9", a.res, a.err)
		}
		for key, want := range map[string]int{"a": 1, "b": 0} {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE idempotency_key = ?", key).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("key %s: %d journal rows, want %d", key, n, want)
			}
		}
		if _, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s", IdempotencyKey: "b"}); err != nil {
			t.Fatalf("the withdrawn key, sent again: %v", err)
		}
		mustVerify(t, l)
	})
}

// TestMixedOperationsShareBatches: credits in, consumptions and refunds on
// the same accounts at once (so batches mix in-memory debits with
// operations that write directly) keep the books exact.
func TestMixedOperationsShareBatches(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		users := []string{newUser(t, db), newUser(t, db)}
		for _, u := range users {
			mustAdd(t, l, credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: 5})
		}
		var granted, consumed, refunded atomic.Int64
		granted.Store(10)
		var wg sync.WaitGroup
		for w := range 12 {
			wg.Go(func() {
				u := users[w%len(users)]
				for i := range 15 {
					switch (w + i) % 3 {
					case 0:
						if _, err := l.Add(ctx, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 2}); err != nil {
							t.Error(err)
							return
						}
						granted.Add(2)
					default:
						res, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s"})
						if errors.Is(err, credits.ErrInsufficient) {
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						consumed.Add(3)
						if i%2 == 0 {
							if _, err := l.Refund(ctx, u, res.Entry.ID, "failed"); err != nil {
								t.Error(err)
								return
							}
							refunded.Add(3)
						}
					}
				}
			})
		}
		wg.Wait()
		var total int64
		for _, u := range users {
			b, _ := l.Balance(ctx, u)
			total += b
		}
		if want := granted.Load() - consumed.Load() + refunded.Load(); total != want {
			t.Fatalf("balances %d, want granted − consumed + refunded = %d", total, want)
		}
		mustVerify(t, l)
	})
}
