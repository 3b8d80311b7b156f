package credits

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Group commit. Every write of the ledger is an operation handed to a
// committer, which applies whatever operations are waiting, in one
// transaction (a batch, batch.go), and answers their callers once that
// transaction has committed. N operations thus share one COMMIT (on SQLite
// with synchronous=FULL, one fsync) and, for debits and for the rows their
// callers queue beside them (queue.go), a handful of statements, instead of
// paying for them each; and no caller hears of a result that a crash could
// still take back.
//
// An operation either writes or refuses. A refusal (not enough credits, a
// reused idempotency key, nothing to refund) is decided before anything is
// written that would have to be undone, so the batch carries on. Any other
// error (a hook failing or panicking, a database error) rolls back the
// whole batch: that operation is answered with its error, and the others,
// which nobody has heard about yet, run again in a new transaction. No
// savepoints: on PostgreSQL each one that writes takes a subtransaction id,
// and more than 64 in one transaction slow down every other session's
// snapshots.
//
// Operations wait in lanes: one on SQLite, which has a single writer
// anyway, and several on PostgreSQL, chosen by the user id, so that every
// operation of one account goes through one lane while other accounts
// commit beside it. A batch locks its accounts in user id order, so two
// processes' batches cannot deadlock. A lane's committer goroutine runs only
// while operations are waiting: there is nothing to start or stop.

// maxBatch bounds one transaction: how long it holds its locks, and how
// much a failing operation makes the others redo. The key lookup ORs one
// term per debit, and SQLite refuses expressions deeper than 1000.
const maxBatch = 256

// pgLanes is how many PostgreSQL transactions the ledger runs at once: one
// per core (at least two, so one's round trips overlap the other's), as the
// server spends a core on each; more only contended on a small machine.
func pgLanes() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// lane is a queue of operations and the flag of its committer goroutine.
type lane struct {
	mu      sync.Mutex
	waiting []*op
	running bool
}

// op is one operation on one account, waiting for its batch.
type op struct {
	ctx  context.Context
	user string
	// locks: the operation writes the user's account, which the batch
	// locks before it runs anything.
	locks bool
	// key is a debit's idempotency key, looked up with the account.
	key   string
	apply func(ctx context.Context, b *batch) (Result, error)
	// state moves from opWaiting to opTaken (a batch runs it) or to
	// opWithdrawn (its caller gave up first), exactly once.
	state atomic.Int32
	res   Result
	err   error
	done  chan struct{}
}

const (
	opWaiting int32 = iota
	opTaken
	opWithdrawn
)

// refusal is an operation's answer that wrote nothing the batch must undo.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }

// refuse marks err as a refusal. Only return it before any write, or after
// writes that stand on their own (expiring due lots).
func refuse(err error) error { return refusal{err} }

// submit runs o in a batch of its user's lane and returns its result once
// the batch has committed. A caller whose ctx ends while the operation
// still waits withdraws it: it never runs, and the caller gets ctx's error.
// Once a batch has taken the operation, it runs to the end and the caller
// waits for the commit: the answer is never "maybe".
func (l *Ledger) submit(ctx context.Context, o *op) (Result, error) {
	if o.user == "" {
		return Result{}, errors.New("no user given for the credit operation")
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	o.ctx, o.done = ctx, make(chan struct{})
	ln := l.lanes[0]
	if len(l.lanes) > 1 {
		h := fnv.New32a()
		h.Write([]byte(o.user))
		ln = l.lanes[h.Sum32()%uint32(len(l.lanes))]
	}
	ln.mu.Lock()
	ln.waiting = append(ln.waiting, o)
	start := !ln.running
	ln.running = true
	ln.mu.Unlock()
	if start {
		go l.commit(ln)
	}
	select {
	case <-o.done:
	case <-ctx.Done():
		if o.state.CompareAndSwap(opWaiting, opWithdrawn) {
			return Result{}, ctx.Err()
		}
		<-o.done
	}
	return o.res, o.err
}

// commit runs the lane's batches until nothing waits.
func (l *Ledger) commit(ln *lane) {
	for {
		ln.mu.Lock()
		n := min(len(ln.waiting), maxBatch)
		if n == 0 {
			ln.waiting, ln.running = nil, false
			ln.mu.Unlock()
			return
		}
		batch := slices.Clone(ln.waiting[:n])
		ln.waiting = slices.Delete(ln.waiting, 0, n)
		ln.mu.Unlock()
		batch = slices.DeleteFunc(batch, func(o *op) bool { return !o.state.CompareAndSwap(opWaiting, opTaken) })
		l.runBatch(batch)
	}
}

// runBatch applies ops in one transaction and answers each after it ends.
func (l *Ledger) runBatch(ops []*op) {
	// Accounts are locked in user id order; one account's operations keep
	// the order they arrived in.
	slices.SortStableFunc(ops, func(a, b *op) int { return strings.Compare(a.user, b.user) })
	grouped := true
	for len(ops) > 0 {
		failed := -1
		err := l.db.InTx(context.Background(), func(tx *database.Tx) error {
			ctx := context.Background()
			b := newBatch(l, tx, ops, grouped)
			if err := b.lock(ctx, ops); err != nil {
				return err
			}
			for i, o := range ops {
				b.op = i
				o.res, o.err = o.run(func(ctx context.Context) (Result, error) { return o.apply(ctx, b) })
				if _, refused := o.err.(refusal); o.err != nil && !refused {
					failed = i
					return o.err
				}
			}
			if err := b.flush(ctx); err != nil {
				return err
			}
			for _, h := range b.after {
				o := ops[h.op]
				if _, err := o.run(func(ctx context.Context) (Result, error) { return Result{}, h.fn(ctx) }); err != nil {
					failed, o.err = h.op, err
					return err
				}
			}
			return b.writeQueued(ctx)
		})
		if errors.Is(err, errGrouped) {
			// Nobody is answered yet: find whose row failed.
			grouped = false
			continue
		}
		if failed >= 0 {
			// Rolled back: the failed operation left nothing behind and is
			// answered; the others run again without it.
			o := ops[failed]
			o.res = Result{}
			close(o.done)
			ops = slices.Delete(ops, failed, failed+1)
			continue
		}
		for _, o := range ops {
			if err != nil {
				o.res, o.err = Result{}, err
			} else if r, ok := o.err.(refusal); ok {
				o.err = r.err
			}
			close(o.done)
		}
		return
	}
}

// run runs fn, a part of the operation, turning a panic (in a hook) into
// its error so that the batch and the committer survive it.
func (o *op) run(fn func(ctx context.Context) (Result, error)) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{}, fmt.Errorf("the credit operation failed unexpectedly: %v", p)
		}
	}()
	// The caller may give up now, but the batch has taken the operation:
	// it runs to the end, with the caller's values and without its deadline.
	return fn(context.WithoutCancel(o.ctx))
}

// Write runs fn in the ledger's group commit, in the lane of userID's
// account: for a write that belongs with the user's credits (the outcome
// of a service run) and should share a commit with the ledger's operations
// rather than pay for its own. fn must not touch the credit tables (the
// ledger's methods do) nor lock other accounts. An error from fn undoes
// all of fn's writes and is returned; the rest of the batch goes on.
func (l *Ledger) Write(ctx context.Context, userID string, fn func(ctx context.Context, tx *Tx) error) error {
	_, err := l.submit(ctx, &op{user: userID, apply: func(ctx context.Context, b *batch) (Result, error) {
		return Result{}, fn(ctx, b.own)
	}})
	return err
}
