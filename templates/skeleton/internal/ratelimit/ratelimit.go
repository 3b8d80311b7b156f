// Package ratelimit counts events per key in the database, so that limits
// hold across every instance of the application and across restarts.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Rule is at most Limit events in any Window for one key. The rules
// themselves are policy, and sit with the package that applies them.
type Rule struct {
	Name   string
	Limit  int
	Window time.Duration // at most MaxWindow
}

// Limiter stores events in the rate_events table.
type Limiter struct {
	db    *database.DB
	clock clock.Clock
}

// New returns a limiter over db whose windows run on clk.
func New(db *database.DB, clk clock.Clock) *Limiter { return &Limiter{db: db, clock: clk} }

// bucket names rule and key without storing the key: keys are addresses
// and IPs, which have no business sitting in a counter table.
func bucket(rule Rule, key string) string {
	sum := sha256.Sum256([]byte(key))
	return rule.Name + ":" + hex.EncodeToString(sum[:16])
}

// Limit is a rule applied to one key: an address, an account, a user id.
type Limit struct {
	Rule Rule
	Key  string
}

// ExceededError refuses a request because a limit is used up: the same
// request may succeed after RetryAfter.
type ExceededError struct {
	Rule       string
	RetryAfter time.Duration
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("too many attempts (%s): try again in %s", e.Rule, e.RetryAfter.Round(time.Second))
}

// Slots are the events one Take counted, for Release to give back.
type Slots []int64

// Take counts one event against each of limits, unless one of them is
// used up: then it counts none and returns an *ExceededError for the first
// used-up limit, with how long until its oldest event leaves the window.
// Check and count are one transaction, serialised per key on every
// instance sharing the database: on PostgreSQL by an advisory lock per
// bucket, taken in sorted order so that two takes never wait on each
// other; on SQLite by the write lock its transactions hold from BEGIN.
// Whatever the number of limits, it is one statement to lock (PostgreSQL),
// one to count and one to record: a take sits on the path of every login.
func (l *Limiter) Take(ctx context.Context, limits ...Limit) (Slots, error) {
	if len(limits) == 0 {
		return nil, nil
	}
	now := l.clock.Now().UTC()
	buckets := make([]string, len(limits))
	counts := make([]string, len(limits))
	countArgs := make([]any, 0, 2*len(limits))
	events := make([]any, 0, 2*len(limits))
	for i, lim := range limits {
		buckets[i] = bucket(lim.Rule, lim.Key)
		counts[i] = "(SELECT COUNT(*) FROM rate_events WHERE bucket = ? AND at > ?)"
		countArgs = append(countArgs, buckets[i], now.Add(-lim.Rule.Window))
		events = append(events, buckets[i], now)
	}
	var slots Slots
	err := l.db.InTx(ctx, func(tx *database.Tx) error {
		if l.db.Dialect() == database.Postgres {
			// The select list is evaluated left to right: the locks are
			// taken in the sorted order of their buckets.
			sorted := slices.Sorted(slices.Values(buckets))
			locks := make([]any, len(sorted))
			for i, b := range sorted {
				locks[i] = b
			}
			if _, err := tx.ExecContext(ctx, "SELECT "+strings.TrimSuffix(strings.Repeat("pg_advisory_xact_lock(hashtext(?)), ", len(sorted)), ", "), locks...); err != nil {
				return fmt.Errorf("lock rate limits: %w", err)
			}
		}
		n := make([]int, len(limits))
		dest := make([]any, len(limits))
		for i := range n {
			dest[i] = &n[i]
		}
		if err := tx.QueryRowContext(ctx, "SELECT "+strings.Join(counts, ", "), countArgs...).Scan(dest...); err != nil {
			return fmt.Errorf("read rate limits: %w", err)
		}
		for i, lim := range limits {
			if n[i] >= lim.Rule.Limit {
				return exceeded(ctx, tx, lim.Rule, buckets[i], now)
			}
		}
		rows, err := tx.QueryContext(ctx, "INSERT INTO rate_events (bucket, at) VALUES "+database.Marks(len(limits), "(?, ?)")+" RETURNING id", events...)
		if err != nil {
			return fmt.Errorf("record rate limits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("record rate limits: %w", err)
			}
			slots = append(slots, id)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("record rate limits: %w", err)
		}
		return rows.Close()
	})
	if err != nil {
		return nil, err
	}
	return slots, nil
}

// exceeded is the *ExceededError of bucket b, which has the rule's limit
// of events in the window: the key may try again when its oldest counted
// event leaves the window.
func exceeded(ctx context.Context, tx *database.Tx, rule Rule, b string, now time.Time) error {
	var oldest time.Time
	if err := tx.QueryRowContext(ctx, "SELECT at FROM rate_events WHERE bucket = ? AND at > ? ORDER BY at LIMIT 1", b, now.Add(-rule.Window)).Scan(&oldest); err != nil {
		return fmt.Errorf("read rate limit %s: %w", rule.Name, err)
	}
	return &ExceededError{Rule: rule.Name, RetryAfter: max(oldest.Add(rule.Window).Sub(now), time.Second)}
}

// Release gives back the events of slots through ex, for a request the
// rules turned out not to count: a failure limit takes its slot before the
// password is checked, and a right password gives it back, in the
// transaction that records the success when there is one.
func (l *Limiter) Release(ctx context.Context, ex database.Execer, slots Slots) error {
	if len(slots) == 0 {
		return nil
	}
	args := make([]any, len(slots))
	for i, id := range slots {
		args[i] = id
	}
	if _, err := ex.ExecContext(ctx, "DELETE FROM rate_events WHERE id IN ("+database.Marks(len(slots), "?")+")", args...); err != nil {
		return fmt.Errorf("release rate limit slots: %w", err)
	}
	return nil
}

// MaxWindow is the longest window a rule may have: Prune forgets older events.
const MaxWindow = time.Hour

// Prune deletes events older than MaxWindow.
func (l *Limiter) Prune(ctx context.Context) error {
	_, err := l.db.ExecContext(ctx, "DELETE FROM rate_events WHERE at < ?", l.clock.Now().UTC().Add(-MaxWindow))
	if err != nil {
		return fmt.Errorf("prune rate limits: %w", err)
	}
	return nil
}
