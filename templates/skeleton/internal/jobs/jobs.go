// Package jobs is a durable job queue in the application's database, for
// scheduled and deferred work: a job survives restarts and runs once.
//
// A job is claimed by one worker at a time: on PostgreSQL with SELECT ...
// FOR UPDATE SKIP LOCKED, so workers in several processes pass each other by;
// on SQLite inside a write transaction (BEGIN IMMEDIATE), which serialises
// claims. Two kinds of handler:
//
//   - HandleTx: the handler's writes commit in the same transaction that
//     marks the job done, so its effect happens exactly once even if the
//     process dies mid-way (it is rolled back and retried). Use it to write
//     rows, such as an email into the outbox. HandleTxErasingPayload is
//     the same for a payload that is personal data (an address): it is
//     blanked once the job is done or given up.
//   - Handle: the handler runs outside a transaction under a lease; if the
//     process dies, the lease lapses and another worker runs it again. Use
//     it only for idempotent work, such as a sweep.
//
// A feature's recurring work is a periodic job (Every, EveryTx): the queue
// itself adds one job per period, under a key naming the period, so any
// number of processes schedule it once. A feature registers its jobs on the
// one queue; main only runs it.
//
// It is the only code that writes the jobs table.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Job is one queued piece of work.
type Job struct {
	Seq       int64
	Kind      string
	UniqueKey string
	Payload   string
	Attempts  int
	RunAt     time.Time
}

// Enqueue adds a job through ex, which may be the transaction of the change
// that calls for it. A job whose uniqueKey is already queued (or was run) is
// not added again: it reports false.
func (q *Queue) Enqueue(ctx context.Context, ex database.Execer, kind, uniqueKey, payload string, runAt time.Time) (bool, error) {
	var key any
	if uniqueKey != "" {
		key = uniqueKey
	}
	r, err := ex.ExecContext(ctx,
		`INSERT INTO jobs (kind, unique_key, payload, run_at, created_at) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (unique_key) DO NOTHING`,
		kind, key, payload, runAt.UTC(), q.clock.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("queue a %s job: %w", kind, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("queue a %s job: %w", kind, err)
	}
	return n == 1, nil
}

// Requeue makes the job of uniqueKey due now, through ex, if it is not
// done and no worker holds it: a job waiting for its next attempt runs at
// once, and a job given up is tried again from its first attempt. It
// reports whether there was such a job. Use it when the cause of the
// failures may be gone: the sender of an event delivers it again.
func (q *Queue) Requeue(ctx context.Context, ex database.Execer, uniqueKey string) (bool, error) {
	now := q.clock.Now().UTC()
	r, err := ex.ExecContext(ctx,
		`UPDATE jobs SET run_at = ?, attempts = CASE WHEN failed_at IS NULL THEN attempts ELSE 0 END, failed_at = NULL
		 WHERE unique_key = ? AND done_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)`,
		now, uniqueKey, now)
	if err != nil {
		return false, fmt.Errorf("requeue job %s: %w", uniqueKey, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("requeue job %s: %w", uniqueKey, err)
	}
	return n == 1, nil
}

// MaxAttempts is how often a failing job is tried before it is given up.
const MaxAttempts = 8

// lease is how long a Handle job may run before another worker may take
// it over.
const lease = 5 * time.Minute

type handler struct {
	tx    func(ctx context.Context, tx *database.Tx, j Job) error
	plain func(ctx context.Context, j Job) error
	// erase blanks the payload once the job is finished.
	erase bool
}

// finished is what marking a job done or given up sets besides: for a
// handler that erases, the payload too.
func (h handler) finished() string {
	if h.erase {
		return ", payload = ''"
	}
	return ""
}

// Queue runs the jobs of one database.
type Queue struct {
	db       *database.DB
	logger   *slog.Logger
	clock    clock.Clock
	mu       sync.RWMutex
	handlers map[string]handler
	periodic []Periodic
}

// Finished jobs are kept this long, for Stats and for looking into what
// ran, then pruned by the queue's own daily job.
const keepFinished = 30 * 24 * time.Hour

// New returns the queue in db, whose due times go by clk.
func New(db *database.DB, logger *slog.Logger, clk clock.Clock) *Queue {
	q := &Queue{db: db, logger: logger, clock: clk, handlers: map[string]handler{}}
	q.Every(Periodic{Kind: "jobs.prune", Every: 24 * time.Hour}, func(ctx context.Context, _ time.Time) error {
		_, err := q.Prune(ctx, keepFinished)
		return err
	})
	return q
}

// HandleTx registers an exactly-once handler (see the package comment).
func (q *Queue) HandleTx(kind string, fn func(ctx context.Context, tx *database.Tx, j Job) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = handler{tx: fn}
}

// HandleTxErasingPayload registers an exactly-once handler (as HandleTx)
// for jobs whose payload is personal data, such as an address: the payload
// is blanked in the transaction that marks the job done, and when the job
// is given up, so it is kept only while the job may still run, not for
// the weeks a finished job stays.
func (q *Queue) HandleTxErasingPayload(kind string, fn func(ctx context.Context, tx *database.Tx, j Job) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = handler{tx: fn, erase: true}
}

// Handle registers an idempotent handler run under a lease.
func (q *Queue) Handle(kind string, fn func(ctx context.Context, j Job) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = handler{plain: fn}
}

// claim locks the next due job in tx, or returns nil.
func (q *Queue) claim(ctx context.Context, tx *database.Tx, now time.Time) (*Job, error) {
	query := `SELECT seq, kind, COALESCE(unique_key, ''), payload, attempts, run_at FROM jobs
		WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
		ORDER BY run_at, seq LIMIT 1`
	if q.db.Dialect() == database.Postgres {
		query += " FOR UPDATE SKIP LOCKED"
	}
	var j Job
	err := tx.QueryRowContext(ctx, query, now, now).Scan(&j.Seq, &j.Kind, &j.UniqueKey, &j.Payload, &j.Attempts, &j.RunAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim a job: %w", err)
	}
	return &j, nil
}

// RunOnce runs the next due job, if any, and reports whether there was one.
func (q *Queue) RunOnce(ctx context.Context) (bool, error) {
	now := q.clock.Now().UTC()
	var job *Job
	var h handler
	var workErr error
	err := q.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if job, err = q.claim(ctx, tx, now); err != nil || job == nil {
			return err
		}
		q.mu.RLock()
		h = q.handlers[job.Kind]
		q.mu.RUnlock()
		switch {
		case h.tx != nil:
			if workErr = h.tx(ctx, tx, *job); workErr != nil {
				return workErr
			}
			return markDone(ctx, tx, job.Seq, now, h)
		case h.plain != nil:
			_, err := tx.ExecContext(ctx, "UPDATE jobs SET claimed_until = ?, attempts = attempts + 1 WHERE seq = ?", now.Add(lease), job.Seq)
			return err
		default:
			workErr = fmt.Errorf("no handler for jobs of kind %q", job.Kind)
			return workErr
		}
	})
	if job == nil {
		return false, err
	}
	if workErr == nil && err == nil && h.plain != nil {
		if workErr = h.plain(ctx, *job); workErr == nil {
			err = markDone(ctx, q.db, job.Seq, q.clock.Now().UTC(), h)
		}
	}
	if workErr != nil {
		return true, q.retry(ctx, *job, workErr, h)
	}
	return true, err
}

func markDone(ctx context.Context, q database.Execer, seq int64, now time.Time, h handler) error {
	if _, err := q.ExecContext(ctx, "UPDATE jobs SET done_at = ?, attempts = attempts + 1, claimed_until = NULL"+h.finished()+" WHERE seq = ?", now, seq); err != nil {
		return fmt.Errorf("mark a job done: %w", err)
	}
	return nil
}

// retry records a failure and schedules the next attempt with exponential
// backoff, or gives the job up after MaxAttempts.
func (q *Queue) retry(ctx context.Context, j Job, cause error, h handler) error {
	attempts := j.Attempts + 1
	now := q.clock.Now().UTC()
	next := now.Add(min(time.Hour, time.Duration(1<<min(attempts, 12))*time.Second))
	var failed any
	set := ""
	if attempts >= MaxAttempts {
		failed = now
		set = h.finished()
	}
	q.logger.WarnContext(ctx, "job failed", "kind", j.Kind, "attempt", attempts, "err", cause)
	inc := "attempts + 1"
	if h.plain != nil {
		inc = "attempts" // the lease claim counted it already
	}
	msg := cause.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	_, err := q.db.ExecContext(ctx, "UPDATE jobs SET attempts = "+inc+", run_at = ?, failed_at = ?, claimed_until = NULL, last_error = ?"+set+" WHERE seq = ?",
		next, failed, msg, j.Seq)
	if err != nil {
		return fmt.Errorf("record a job failure: %w", err)
	}
	return nil
}

// work works through due jobs until ctx ends, checking for new ones every
// poll interval.
func (q *Queue) work(ctx context.Context, poll time.Duration) {
	for {
		ran, err := q.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			q.logger.ErrorContext(ctx, "job queue", "err", err)
		}
		if ran && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}

// Run works through due jobs until ctx ends, checking for new ones every
// poll interval, and queues the periodic jobs' current periods at once and
// every scheduleEvery after.
func (q *Queue) Run(ctx context.Context, poll time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.work(ctx, poll)
	}()
	tick := time.NewTicker(scheduleEvery)
	defer tick.Stop()
	for {
		if err := q.Schedule(ctx); err != nil && ctx.Err() == nil {
			q.logger.ErrorContext(ctx, "schedule periodic jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			<-done
			return
		case <-tick.C:
		}
	}
}

// Prune deletes finished jobs older than age and returns how many.
func (q *Queue) Prune(ctx context.Context, age time.Duration) (int64, error) {
	r, err := q.db.ExecContext(ctx, "DELETE FROM jobs WHERE done_at IS NOT NULL AND done_at < ?", q.clock.Now().UTC().Add(-age))
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return r.RowsAffected()
}

// Stats counts the jobs waiting, done and given up.
type Stats struct{ Pending, Done, Failed int }

// Stats returns the queue's counts.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	err := q.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN done_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN done_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM jobs`).Scan(&s.Pending, &s.Done, &s.Failed)
	if err != nil {
		return s, fmt.Errorf("count jobs: %w", err)
	}
	return s, nil
}
