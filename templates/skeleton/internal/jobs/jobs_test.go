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
			if _, err := db.ExecContext(ctx, "CREATE TABLE job_effects (job TEXT NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			const n = 120
			for i := range n {
				if _, err := jobs.Enqueue(ctx, db, "effect", fmt.Sprint("job-", i), fmt.Sprint(i), time.Now().Add(-time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			if added, err := jobs.Enqueue(ctx, db, "effect", "job-0", "0", time.Now()); err != nil || added {
				t.Fatalf("a duplicate unique key was queued: %v, %v", added, err)
			}
			var wg sync.WaitGroup
			for range 6 {
				q := jobs.New(db, quiet)
				q.HandleTx("effect", func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO job_effects (job) VALUES (?)", j.Payload)
					return err
				})
				wg.Go(func() {
					for {
						ran, err := q.RunOnce(ctx)
						if err != nil {
							t.Error(err)
							return
						}
						if !ran {
							return
						}
					}
				})
			}
			wg.Wait()
			var rows, distinct int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT job) FROM job_effects").Scan(&rows, &distinct); err != nil {
				t.Fatal(err)
			}
			if rows != n || distinct != n {
				t.Fatalf("%d effects of %d distinct jobs, want %d of %d", rows, distinct, n, n)
			}
			if s, _ := jobs.New(db, quiet).Stats(ctx); s.Done != n || s.Pending != 0 {
				t.Fatalf("stats = %+v", s)
			}
		})
	}
}

func TestFailureRollsBackAndRetries(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			db.ExecContext(ctx, "CREATE TABLE job_effects (job TEXT NOT NULL)")
			now := time.Now()
			q := jobs.New(db, quiet)
			q.SetClock(func() time.Time { return now })
			var tries atomic.Int64
			q.HandleTx("flaky", func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
				tx.ExecContext(ctx, "INSERT INTO job_effects (job) VALUES ('half-done')")
				if tries.Add(1) < 3 {
					return errors.New("upstream down")
				}
				return nil
			})
			jobs.Enqueue(ctx, db, "flaky", "", "", now)
			for range 3 {
				if ran, err := q.RunOnce(ctx); err != nil || !ran {
					t.Fatalf("RunOnce = %v, %v", ran, err)
				}
				if ran, _ := q.RunOnce(ctx); ran {
					t.Fatal("a failed job ran again before its backoff")
				}
				now = now.Add(2 * time.Hour)
			}
			var effects int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM job_effects").Scan(&effects)
			if effects != 1 {
				t.Fatalf("%d effects, want 1: the failed attempts' writes must roll back", effects)
			}

			jobs.Enqueue(ctx, db, "nobody-handles", "", "", now)
			for range jobs.MaxAttempts {
				q.RunOnce(ctx)
				now = now.Add(2 * time.Hour)
			}
			if s, _ := q.Stats(ctx); s.Failed != 1 || s.Done != 1 {
				t.Fatalf("stats = %+v, want the unhandled job given up", s)
			}
		})
	}
}

func TestLeasedHandlerTakenOverAfterCrash(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	now := time.Now()
	crashed := jobs.New(db, quiet)
	crashed.SetClock(func() time.Time { return now })
	block := make(chan struct{})
	started := make(chan struct{})
	crashed.Handle("sweep", func(ctx context.Context, j jobs.Job) error {
		close(started)
		<-block
		return errors.New("the process died")
	})
	jobs.Enqueue(ctx, db, "sweep", "sweep-1", "", now)
	go crashed.RunOnce(ctx)
	<-started

	var runs atomic.Int64
	other := jobs.New(db, quiet)
	other.SetClock(func() time.Time { return now })
	other.Handle("sweep", func(context.Context, jobs.Job) error { runs.Add(1); return nil })
	if ran, _ := other.RunOnce(ctx); ran {
		t.Fatal("a leased job was taken while its lease holds")
	}
	now = now.Add(10 * time.Minute)
	if ran, err := other.RunOnce(ctx); !ran || err != nil || runs.Load() != 1 {
		t.Fatalf("after the lease: ran %v, %v, runs %d", ran, err, runs.Load())
	}
	close(block)
}
