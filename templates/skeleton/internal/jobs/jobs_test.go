package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestEveryJobRunsOnce: several workers, as in several processes, drain one
// queue; each job's effect is written exactly once.
func TestEveryJobRunsOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			_, err := db.ExecContext(ctx, "CREATE TABLE job_effects (job TEXT NOT NULL)")
			require.NoError(t, err)
			const n = 120
			queue := jobs.New(db, quiet, clock.System{})
			for i := range n {
				_, err := queue.Enqueue(ctx, db, "effect", fmt.Sprint("job-", i), fmt.Sprint(i), time.Now().Add(-time.Second))
				require.NoError(t, err)
			}
			added, err := queue.Enqueue(ctx, db, "effect", "job-0", "0", time.Now())
			require.NoError(t, err)
			require.False(t, added, "a duplicate unique key was queued")
			var wg sync.WaitGroup
			for range 6 {
				q := jobs.New(db, quiet, clock.System{})
				q.HandleTx("effect", func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO job_effects (job) VALUES (?)", j.Payload)
					return err
				})
				wg.Go(func() {
					for {
						ran, err := q.RunOnce(ctx)
						if !assert.NoError(t, err) || !ran {
							return
						}
					}
				})
			}
			wg.Wait()
			var rows, distinct int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT job) FROM job_effects").Scan(&rows, &distinct))
			assert.Equal(t, n, rows, "effects")
			assert.Equal(t, n, distinct, "distinct jobs with an effect")
			s, _ := queue.Stats(ctx)
			assert.Equal(t, jobs.Stats{Done: n}, s)
		})
	}
}

func TestFailureRollsBackAndRetries(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			db.ExecContext(ctx, "CREATE TABLE job_effects (job TEXT NOT NULL)")
			clk := clock.NewFake(time.Now())
			q := jobs.New(db, quiet, clk)
			var tries atomic.Int64
			q.HandleTx("flaky", func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
				tx.ExecContext(ctx, "INSERT INTO job_effects (job) VALUES ('half-done')")
				if tries.Add(1) < 3 {
					return errors.New("upstream down")
				}
				return nil
			})
			q.Enqueue(ctx, db, "flaky", "", "", clk.Now())
			for range 3 {
				ran, err := q.RunOnce(ctx)
				require.NoError(t, err)
				require.True(t, ran, "RunOnce found no job")
				ran, _ = q.RunOnce(ctx)
				require.False(t, ran, "a failed job ran again before its backoff")
				clk.Advance(2 * time.Hour)
			}
			var effects int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM job_effects").Scan(&effects)
			require.Equal(t, 1, effects, "the failed attempts' writes must roll back")

			q.Enqueue(ctx, db, "nobody-handles", "", "", clk.Now())
			for range jobs.MaxAttempts {
				q.RunOnce(ctx)
				clk.Advance(2 * time.Hour)
			}
			s, _ := q.Stats(ctx)
			require.Equal(t, 1, s.Failed, "the unhandled job is given up: %+v", s)
			require.Equal(t, 1, s.Done, "stats: %+v", s)
		})
	}
}

func TestLeasedHandlerTakenOverAfterCrash(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	clk := clock.NewFake(time.Now())
	crashed := jobs.New(db, quiet, clk)
	block := make(chan struct{})
	started := make(chan struct{})
	crashed.Handle("sweep", func(ctx context.Context, j jobs.Job) error {
		close(started)
		<-block
		return errors.New("the process died")
	})
	crashed.Enqueue(ctx, db, "sweep", "sweep-1", "", clk.Now())
	go crashed.RunOnce(ctx)
	<-started

	var runs atomic.Int64
	other := jobs.New(db, quiet, clk)
	other.Handle("sweep", func(context.Context, jobs.Job) error { runs.Add(1); return nil })
	ran, _ := other.RunOnce(ctx)
	require.False(t, ran, "a leased job was taken while its lease holds")
	clk.Advance(10 * time.Minute)
	ran, err := other.RunOnce(ctx)
	require.NoError(t, err)
	require.True(t, ran, "the job was not taken over after its lease")
	require.EqualValues(t, 1, runs.Load(), "runs of the taken-over job")
	close(block)
}

// TestPeriodicJobsRunOncePerPeriod: scheduling any number of times queues
// one job per period, due After into it; weeks begin on Monday; the
// handler gets its period's start; the queue prunes itself daily.
func TestPeriodicJobsRunOncePerPeriod(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	wednesday := time.Date(2030, 3, 6, 14, 30, 0, 0, time.UTC)
	clk := clock.NewFake(wednesday)
	q := jobs.New(db, quiet, clk)
	var hours, weeks []time.Time
	q.Every(jobs.Periodic{Kind: "hourly", Every: time.Hour}, func(_ context.Context, period time.Time) error {
		hours = append(hours, period)
		return nil
	})
	q.EveryTx(jobs.Periodic{Kind: "weekly", Every: 7 * 24 * time.Hour, After: 8 * time.Hour},
		func(_ context.Context, _ *database.Tx, period time.Time) error {
			weeks = append(weeks, period)
			return nil
		})
	for range 3 {
		require.NoError(t, q.Schedule(ctx))
	}
	s, err := q.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, s.Pending, "hourly, weekly and jobs.prune, each once")
	for {
		ran, err := q.RunOnce(ctx)
		require.NoError(t, err)
		if !ran {
			break
		}
	}
	monday := time.Date(2030, 3, 4, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, []time.Time{wednesday.Truncate(time.Hour)}, hours)
	assert.Equal(t, []time.Time{monday}, weeks, "the week begins on Monday, and its job is due at 08:00")

	// Next Monday 07:00, the new week's job is queued but not due yet.
	clk.Set(monday.AddDate(0, 0, 7).Add(7 * time.Hour))
	require.NoError(t, q.Schedule(ctx))
	for {
		ran, err := q.RunOnce(ctx)
		require.NoError(t, err)
		if !ran {
			break
		}
	}
	assert.Len(t, weeks, 1, "a week's job ran before its After")
	assert.Len(t, hours, 2)
	clk.Advance(time.Hour)
	_, err = q.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, []time.Time{monday, monday.AddDate(0, 0, 7)}, weeks)
}

// Row 45: a job registered with HandleTxErasingPayload carries personal
// data (an address) only while it may still run: its payload is blank once
// it is done and once it is given up, but kept between the attempts that
// need it. An ordinary job keeps its payload, for looking into what ran.
func TestPersonalPayloadsAreErased(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			clk := clock.NewFake(time.Now())
			q := jobs.New(db, quiet, clk)
			var seen []string
			q.HandleTxErasingPayload("personal", func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
				seen = append(seen, j.Payload)
				return nil
			})
			q.HandleTxErasingPayload("personal-failing", func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
				seen = append(seen, j.Payload)
				return errors.New("the mail server is down")
			})
			q.HandleTx("ordinary", func(ctx context.Context, tx *database.Tx, j jobs.Job) error { return nil })
			payloadOf := func(kind string) string {
				t.Helper()
				var p string
				require.NoError(t, db.QueryRowContext(ctx, "SELECT payload FROM jobs WHERE kind = ?", kind).Scan(&p))
				return p
			}
			for _, kind := range []string{"personal", "personal-failing", "ordinary"} {
				_, err := q.Enqueue(ctx, db, kind, "", kind+"@example.com", clk.Now())
				require.NoError(t, err)
			}
			for range 3 {
				_, err := q.RunOnce(ctx)
				require.NoError(t, err)
			}
			assert.Empty(t, payloadOf("personal"), "a done job kept its personal payload")
			assert.Equal(t, "personal-failing@example.com", payloadOf("personal-failing"), "a job to be retried lost its payload")
			assert.Equal(t, "ordinary@example.com", payloadOf("ordinary"), "an ordinary job lost its payload")
			for range jobs.MaxAttempts {
				clk.Advance(2 * time.Hour)
				_, err := q.RunOnce(ctx)
				require.NoError(t, err)
			}
			s, err := q.Stats(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, s.Failed, "the failing job is given up: %+v", s)
			assert.Empty(t, payloadOf("personal-failing"), "a job given up kept its personal payload")
			assert.Equal(t, "personal@example.com", seen[0], "the handler did not get the payload")
			assert.Len(t, seen, 1+jobs.MaxAttempts, "handler runs: %q", seen)
			for _, p := range seen[1:] {
				assert.Equal(t, "personal-failing@example.com", p, "a retry did not get the payload")
			}
		})
	}
}

// TestRequeue: row 54. A job waiting for its next attempt runs at once, a job
// given up is tried again from its first attempt, and a done job stays
// done.
func TestRequeue(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			clk := clock.NewFake(time.Now())
			q := jobs.New(db, quiet, clk)
			var fail atomic.Bool
			var runs atomic.Int64
			fail.Store(true)
			q.Handle("flaky", func(ctx context.Context, j jobs.Job) error {
				runs.Add(1)
				if fail.Load() {
					return errors.New("not yet")
				}
				return nil
			})
			_, err := q.Enqueue(ctx, db, "flaky", "flaky-1", "", clk.Now())
			require.NoError(t, err)
			ran, err := q.RunOnce(ctx)
			require.NoError(t, err)
			require.True(t, ran)
			ran, err = q.RunOnce(ctx)
			require.NoError(t, err)
			require.False(t, ran, "the failed job waits for its backoff")

			requeued, err := q.Requeue(ctx, db, "flaky-1")
			require.NoError(t, err)
			require.True(t, requeued)
			ran, err = q.RunOnce(ctx)
			require.NoError(t, err)
			require.True(t, ran, "a requeued job runs without waiting for its backoff")

			for range jobs.MaxAttempts {
				clk.Advance(2 * time.Hour)
				_, err := q.RunOnce(ctx)
				require.NoError(t, err)
			}
			s, err := q.Stats(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, s.Failed, "the job is given up after MaxAttempts")

			fail.Store(false)
			requeued, err = q.Requeue(ctx, db, "flaky-1")
			require.NoError(t, err)
			require.True(t, requeued, "a given-up job is requeued")
			before := runs.Load()
			ran, err = q.RunOnce(ctx)
			require.NoError(t, err)
			require.True(t, ran)
			assert.Equal(t, before+1, runs.Load())
			s, err = q.Stats(ctx)
			require.NoError(t, err)
			assert.Equal(t, jobs.Stats{Done: 1}, s, "the requeued job succeeded")

			requeued, err = q.Requeue(ctx, db, "flaky-1")
			require.NoError(t, err)
			assert.False(t, requeued, "a done job is not run again")
			requeued, err = q.Requeue(ctx, db, "no-such-job")
			require.NoError(t, err)
			assert.False(t, requeued)
		})
	}
}
