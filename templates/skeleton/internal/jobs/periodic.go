package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Periodic is a job that runs once per period. Periods begin at whole
// multiples of Every since Go's zero time, in UTC, which was a Monday at
// midnight: an hour's period begins on the hour, a day's at midnight, a
// week's on Monday.
type Periodic struct {
	Kind  string
	Every time.Duration
	// After is how long into its period the job falls due; zero, at its
	// start.
	After time.Duration
}

// scheduleEvery is how often Run queues the periodic jobs' current periods:
// cheap (one conflicting INSERT per kind), and often enough for a period
// of minutes.
const scheduleEvery = time.Minute

// Every registers p with an idempotent handler run under a lease (as
// Handle), which gets the start of the job's period.
func (q *Queue) Every(p Periodic, fn func(ctx context.Context, period time.Time) error) {
	q.addPeriodic(p)
	q.Handle(p.Kind, func(ctx context.Context, j Job) error {
		period, err := periodOf(j)
		if err != nil {
			return err
		}
		return fn(ctx, period)
	})
}

// EveryTx registers p with an exactly-once handler (as HandleTx), which
// gets the start of the job's period.
func (q *Queue) EveryTx(p Periodic, fn func(ctx context.Context, tx *database.Tx, period time.Time) error) {
	q.addPeriodic(p)
	q.HandleTx(p.Kind, func(ctx context.Context, tx *database.Tx, j Job) error {
		period, err := periodOf(j)
		if err != nil {
			return err
		}
		return fn(ctx, tx, period)
	})
}

func (q *Queue) addPeriodic(p Periodic) {
	if p.Every <= 0 {
		panic(fmt.Sprintf("periodic job %s: Every must be positive", p.Kind))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.periodic = append(q.periodic, p)
}

// Schedule queues every periodic job's current period, once: the job's key
// names its period, so any number of processes calling it at any time
// queue each period's job once.
func (q *Queue) Schedule(ctx context.Context) error {
	now := q.clock.Now().UTC()
	q.mu.RLock()
	periodic := q.periodic
	q.mu.RUnlock()
	for _, p := range periodic {
		start := now.Truncate(p.Every)
		key := p.Kind + ":" + start.Format(time.RFC3339)
		if _, err := q.Enqueue(ctx, q.db, p.Kind, key, start.Format(time.RFC3339), start.Add(p.After)); err != nil {
			return err
		}
	}
	return nil
}

// periodOf reads the start of a periodic job's period from its payload.
func periodOf(j Job) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, j.Payload)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the period of the %s job: %w", j.Kind, err)
	}
	return t, nil
}
