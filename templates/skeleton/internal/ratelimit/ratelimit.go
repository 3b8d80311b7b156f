// Package ratelimit counts events per key in the database, so that limits
// hold across every instance of the application and across restarts.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
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
func (l *Limiter) Take(ctx context.Context, limits ...Limit) (Slots, error) {
	buckets := make([]string, len(limits))
	for i, lim := range limits {
		buckets[i] = bucket(lim.Rule, lim.Key)
	}
	var slots Slots
	err := l.db.InTx(ctx, func(tx *database.Tx) error {
		if l.db.Dialect() == database.Postgres {
			for _, b := range slices.Sorted(slices.Values(buckets)) {
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", b); err != nil {
					return fmt.Errorf("lock rate limit %s: %w", b, err)
				}
			}
		}
		now := l.clock.Now().UTC()
		for i, lim := range limits {
			if err := usedUp(ctx, tx, lim.Rule, buckets[i], now); err != nil {
				return err
			}
		}
		slots = make(Slots, len(limits))
		for i, lim := range limits {
			if err := tx.QueryRowContext(ctx, "INSERT INTO rate_events (bucket, at) VALUES (?, ?) RETURNING id", buckets[i], now).Scan(&slots[i]); err != nil {
				return fmt.Errorf("record rate limit %s: %w", lim.Rule.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slots, nil
}

// usedUp returns an *ExceededError when bucket b has the rule's limit of
// events in the window.
func usedUp(ctx context.Context, tx *database.Tx, rule Rule, b string, now time.Time) error {
	var n int
	since := now.Add(-rule.Window)
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM rate_events WHERE bucket = ? AND at > ?", b, since).Scan(&n); err != nil {
		return fmt.Errorf("read rate limit %s: %w", rule.Name, err)
	}
	if n < rule.Limit {
		return nil
	}
	// The key may try again when its oldest counted event leaves the window.
	var oldest time.Time
	if err := tx.QueryRowContext(ctx, "SELECT at FROM rate_events WHERE bucket = ? AND at > ? ORDER BY at LIMIT 1", b, since).Scan(&oldest); err != nil {
		return fmt.Errorf("read rate limit %s: %w", rule.Name, err)
	}
	return &ExceededError{Rule: rule.Name, RetryAfter: max(oldest.Add(rule.Window).Sub(now), time.Second)}
}

// Release gives back the events of slots, for a request the rules turned
// out not to count: a failure limit takes its slot before the password is
// checked, and a right password gives it back.
func (l *Limiter) Release(ctx context.Context, slots Slots) error {
	if len(slots) == 0 {
		return nil
	}
	args := make([]any, len(slots))
	for i, id := range slots {
		args[i] = id
	}
	if _, err := l.db.ExecContext(ctx, "DELETE FROM rate_events WHERE id IN ("+database.Marks(len(slots), "?")+")", args...); err != nil {
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
