// Package groupcommit runs many small writes in shared transactions. Every
// write is an operation handed to a Committer, which applies whatever
// operations are waiting, in one transaction (a batch), and answers their
// callers once that transaction has committed. N operations thus share one
// COMMIT (on SQLite with synchronous=FULL, one fsync) and, for the rows
// they queue (Tx.Queue), a handful of statements, instead of paying for them
// each; and no caller hears of a result that a crash could still take back.
//
// An operation either writes or refuses. A refusal (Refuse) is decided
// before anything is written that would have to be undone, so the batch
// carries on. Any other error (a hook failing or panicking, a database
// error) rolls back the whole batch: that operation is answered with its
// error, and the others, which nobody has heard about yet, run again in a
// new transaction without it. No savepoints: on PostgreSQL each one that
// writes takes a subtransaction id, and more than 64 in one transaction
// slow down every other session's snapshots.
//
// Operations wait in lanes: one on SQLite, which has a single writer
// anyway, and several on PostgreSQL, chosen by the operation's key, so that
// every operation of one key goes through one lane while other keys commit
// beside it. A batch applies its operations sorted by key, so batches that
// lock rows in key order cannot deadlock. A lane's committer goroutine runs
// only while operations are waiting: there is nothing to start or stop.
//
// What an operation does inside its batch is the user's business (the
// credit ledger's debits, for one): the batch type B is theirs.
package groupcommit

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

// Batch is the user's state of one transaction.
type Batch interface {
	// Prepare runs after every operation of the batch has declared itself
	// (Op.Declare) and before the first one is applied.
	Prepare(ctx context.Context) error
	// Flush writes what the operations left pending; it runs after the
	// last one is applied, before the After hooks.
	Flush(ctx context.Context) error
}

// Op is one operation.
type Op[B Batch, R any] struct {
	// Key picks the lane; operations with one key run in the order they
	// arrived. Required.
	Key string
	// Declare, when set, tells each new batch of the operation before
	// any operation is applied (what to lock, what to look up).
	Declare func(b B)
	// Apply does the operation's work in the batch. It may run more than
	// once, when another operation's failure rolls the batch back.
	Apply func(ctx context.Context, b B) (R, error)
}

// Committer runs the operations of one database.
type Committer[B Batch, R any] struct {
	db       *database.DB
	maxBatch int
	begin    func(tx *Tx) B
	lanes    []*lane[B, R]
}

// New returns a committer whose batches hold at most maxBatch operations
// and start with begin. Use one Committer per database and purpose in a
// process: operations share commits only within one.
func New[B Batch, R any](db *database.DB, maxBatch int, begin func(tx *Tx) B) *Committer[B, R] {
	if maxBatch < 1 {
		// A batch of none would leave every caller waiting forever.
		panic(fmt.Sprintf("groupcommit: maxBatch is %d, want at least 1", maxBatch))
	}
	n := 1
	if db.Dialect() == database.Postgres {
		n = pgLanes()
	}
	c := &Committer[B, R]{db: db, maxBatch: maxBatch, begin: begin, lanes: make([]*lane[B, R], n)}
	for i := range c.lanes {
		c.lanes[i] = &lane[B, R]{}
	}
	return c
}

// pgLanes is how many PostgreSQL transactions a committer runs at once:
// one per core (at least two, so one's round trips overlap the other's),
// as the server spends a core on each; more only contended on a small
// machine.
func pgLanes() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// lane is a queue of operations and the flag of its committer goroutine.
type lane[B Batch, R any] struct {
	mu      sync.Mutex
	waiting []*pending[B, R]
	running bool
}

// pending is an operation waiting for its batch, and its answer.
type pending[B Batch, R any] struct {
	Op[B, R]
	ctx context.Context
	// state moves from waiting to taken (a batch runs it) or to withdrawn
	// (its caller gave up first), exactly once.
	state atomic.Int32
	res   R
	err   error
	done  chan struct{}
}

const (
	waiting int32 = iota
	taken
	withdrawn
)

// refusal is an operation's answer that wrote nothing the batch must undo.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }

// Refuse marks err as a refusal: the operation's caller gets err, and the
// rest of the batch goes on. Only return it before any write, or after
// writes that stand on their own.
func Refuse(err error) error { return refusal{err} }

// Submit runs o in a batch of its key's lane and returns its result once
// the batch has committed. A caller whose ctx ends while the operation
// still waits withdraws it: it never runs, and the caller gets ctx's error.
// Once a batch has taken the operation, it runs to the end and the caller
// waits for the commit: the answer is never "maybe".
func (c *Committer[B, R]) Submit(ctx context.Context, o Op[B, R]) (R, error) {
	var zero R
	if o.Key == "" {
		return zero, errors.New("the operation has no key")
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	p := &pending[B, R]{Op: o, ctx: ctx, done: make(chan struct{})}
	ln := c.lanes[0]
	if len(c.lanes) > 1 {
		h := fnv.New32a()
		h.Write([]byte(o.Key))
		ln = c.lanes[h.Sum32()%uint32(len(c.lanes))]
	}
	ln.mu.Lock()
	ln.waiting = append(ln.waiting, p)
	start := !ln.running
	ln.running = true
	ln.mu.Unlock()
	if start {
		go c.commit(ln)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		if p.state.CompareAndSwap(waiting, withdrawn) {
			return zero, ctx.Err()
		}
		<-p.done
	}
	return p.res, p.err
}

// commit runs the lane's batches until nothing waits.
func (c *Committer[B, R]) commit(ln *lane[B, R]) {
	for {
		ln.mu.Lock()
		n := min(len(ln.waiting), c.maxBatch)
		if n == 0 {
			ln.waiting, ln.running = nil, false
			ln.mu.Unlock()
			return
		}
		batch := slices.Clone(ln.waiting[:n])
		ln.waiting = slices.Delete(ln.waiting, 0, n)
		ln.mu.Unlock()
		batch = slices.DeleteFunc(batch, func(p *pending[B, R]) bool { return !p.state.CompareAndSwap(waiting, taken) })
		c.runBatch(batch)
	}
}

// runBatch applies ops in one transaction and answers each after it ends.
func (c *Committer[B, R]) runBatch(ops []*pending[B, R]) {
	// One key's operations keep the order they arrived in.
	slices.SortStableFunc(ops, func(a, b *pending[B, R]) int { return strings.Compare(a.Key, b.Key) })
	var zero R
	grouped := true
	for len(ops) > 0 {
		failed := -1
		err := c.db.InTx(context.Background(), func(dbtx *database.Tx) error {
			ctx := context.Background()
			tx := &Tx{Tx: dbtx, grouped: grouped}
			b := c.begin(tx)
			for _, p := range ops {
				if p.Declare != nil {
					p.Declare(b)
				}
			}
			if err := b.Prepare(ctx); err != nil {
				return err
			}
			for i, p := range ops {
				tx.op = i
				p.res, p.err = run(p.ctx, func(ctx context.Context) (R, error) { return p.Apply(ctx, b) })
				if _, refused := p.err.(refusal); p.err != nil && !refused {
					failed = i
					return p.err
				}
			}
			if err := b.Flush(ctx); err != nil {
				return err
			}
			for _, h := range tx.after {
				p := ops[h.op]
				if _, err := run(p.ctx, func(ctx context.Context) (R, error) { return zero, h.fn(ctx) }); err != nil {
					failed, p.err = h.op, err
					return err
				}
			}
			return tx.writeQueued(ctx)
		})
		if errors.Is(err, errGrouped) {
			// Nobody is answered yet: find whose row failed.
			grouped = false
			continue
		}
		if failed >= 0 {
			// Rolled back: the failed operation left nothing behind and is
			// answered; the others run again without it.
			p := ops[failed]
			p.res = zero
			close(p.done)
			ops = slices.Delete(ops, failed, failed+1)
			continue
		}
		for _, p := range ops {
			if err != nil {
				p.res, p.err = zero, err
			} else if r, ok := p.err.(refusal); ok {
				p.err = r.err
			}
			close(p.done)
		}
		return
	}
}

// run runs fn, a part of an operation whose caller passed ctx, turning a
// panic (in a hook) into its error so that the batch and the committer
// survive it.
func run[R any](ctx context.Context, fn func(ctx context.Context) (R, error)) (res R, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero R
			res, err = zero, fmt.Errorf("the operation failed unexpectedly: %v", p)
		}
	}()
	// The caller may give up now, but the batch has taken the operation:
	// it runs to the end, with the caller's values and without its deadline.
	return fn(context.WithoutCancel(ctx))
}
