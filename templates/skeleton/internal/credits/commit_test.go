package credits_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
)

// TestBatchIsolatesFailures: among concurrent consumptions sharing commits,
// those whose hook fails or panics leave nothing behind and are told so,
// and every other one is applied exactly once.
func TestBatchIsolatesFailures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		users := []string{dbtest.NewUser(t, db), dbtest.NewUser(t, db), dbtest.NewUser(t, db)}
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
					assert.False(t, i%10 == 3 || i%10 == 7, "consumption %d succeeded though its hook failed", i)
				case i%10 == 3 && errors.Is(err, errHook), i%10 == 7:
					failed.Add(1)
				default:
					assert.Fail(t, "a consumption failed", "consumption %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		var rows int64
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE kind = 'consumption'").Scan(&rows))
		var total int64
		for _, u := range users {
			b, err := l.Balance(ctx, u)
			require.NoError(t, err)
			total += b
		}
		require.EqualValues(t, 72, ok.Load(), "applied")
		require.EqualValues(t, 18, failed.Load(), "failed")
		require.EqualValues(t, 72, rows, "journal rows")
		require.EqualValues(t, 3000-2*72, total, "balances")
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
		_, err := db.ExecContext(ctx, "CREATE TABLE hook_rows (id TEXT PRIMARY KEY, journal_id TEXT NOT NULL)")
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, "INSERT INTO hook_rows (id, journal_id) VALUES ('taken', '')")
		require.NoError(t, err)
		rows := &groupcommit.Rows{What: "record the hook's row", Head: "INSERT INTO hook_rows (id, journal_id) VALUES ", Row: "(?, ?)"}
		l := credits.New(db, clock.System{})
		users := []string{dbtest.NewUser(t, db), dbtest.NewUser(t, db)}
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
					assert.Fail(t, "a colliding row was written", "operation %d succeeded though its row collides", i)
				case i%5 == 4:
					refused.Add(1)
					assert.ErrorContains(t, err, "record the hook's row", "operation %d fails with its row", i)
				case err != nil:
					assert.Fail(t, "an operation failed", "operation %d: %v", i, err)
				case i%2 == 0:
					charged.Add(1)
				default:
					written.Add(1)
				}
			})
		}
		wg.Wait()
		var hookRows, charges, total int64
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM hook_rows WHERE id <> 'taken'").Scan(&hookRows))
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE kind = 'consumption'").Scan(&charges))
		for _, u := range users {
			b, err := l.Balance(ctx, u)
			require.NoError(t, err)
			total += b
		}
		require.EqualValues(t, 24, refused.Load(), "refused")
		require.EqualValues(t, 48, charged.Load(), "charged")
		require.EqualValues(t, 48, written.Load(), "written")
		require.EqualValues(t, 96, hookRows, "hook rows")
		require.EqualValues(t, 48, charges, "charges")
		require.EqualValues(t, 2000-3*48, total, "balances")
		mustVerify(t, l)
	})
}

// TestQueueChecksItsValues: a row with the wrong number of values is
// refused before anything is written.
func TestQueueChecksItsValues(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
		rows := &groupcommit.Rows{What: "record two values", Head: "INSERT INTO nowhere (a, b) VALUES ", Row: "(?, ?)"}
		err := l.Write(ctx, u, func(ctx context.Context, tx *groupcommit.Tx) error { return tx.Queue(ctx, rows, "one") })
		require.ErrorContains(t, err, "1 values for a row of 2", "Queue with one value for two")
	})
}

// TestCancelledCaller: a caller that gives up while its operation waits
// withdraws it, and one that gives up after a batch took it still gets,
// and has, the result. Never both, never neither.
func TestCancelledCaller(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := credits.New(db, clock.System{})
		u := dbtest.NewUser(t, db)
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
		require.ErrorIs(t, <-bDone, context.Canceled, "withdrawn consumption")
		close(release)
		a := <-aDone
		require.NoError(t, a.err, "consumption taken before its caller gave up is applied")
		require.EqualValues(t, 9, a.res.Entry.BalanceAfter, "consumption taken before its caller gave up")
		for key, want := range map[string]int{"a": 1, "b": 0} {
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_journal WHERE idempotency_key = ?", key).Scan(&n))
			assert.Equal(t, want, n, "key %s: journal rows", key)
		}
		_, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 1, Service: "s", IdempotencyKey: "b"})
		require.NoError(t, err, "the withdrawn key, sent again")
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
		users := []string{dbtest.NewUser(t, db), dbtest.NewUser(t, db)}
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
						if _, err := l.Add(ctx, credits.Credit{UserID: u, Kind: credits.KindGrant, Amount: 2}); !assert.NoError(t, err) {
							return
						}
						granted.Add(2)
					default:
						res, err := l.Consume(ctx, credits.Debit{UserID: u, Amount: 3, Service: "s"})
						if errors.Is(err, credits.ErrInsufficient) {
							continue
						}
						if !assert.NoError(t, err) {
							return
						}
						consumed.Add(3)
						if i%2 == 0 {
							if _, err := l.Refund(ctx, u, res.Entry.ID, "failed"); !assert.NoError(t, err) {
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
		require.Equal(t, granted.Load()-consumed.Load()+refunded.Load(), total, "balances: granted − consumed + refunded")
		mustVerify(t, l)
	})
}
