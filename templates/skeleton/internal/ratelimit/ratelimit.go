// Package ratelimit counts events per key in the database, so that limits
// hold across every instance of the application and across restarts.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
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

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// state returns how many events the key has in the window and, when that
// reaches the limit, how long until the oldest one leaves it.
func (l *Limiter) state(ctx context.Context, q querier, rule Rule, b string, now time.Time) (bool, time.Duration, error) {
	var n int
	since := now.Add(-rule.Window)
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM rate_events WHERE bucket = ? AND at > ?", b, since).Scan(&n); err != nil {
		return false, 0, fmt.Errorf("read rate limit %s: %w", rule.Name, err)
	}
	if n < rule.Limit {
		return false, 0, nil
	}
	// The key may try again when its oldest counted event leaves the window.
	var oldest time.Time
	if err := q.QueryRowContext(ctx, "SELECT at FROM rate_events WHERE bucket = ? AND at > ? ORDER BY at LIMIT 1", b, since).Scan(&oldest); err != nil {
		return false, 0, fmt.Errorf("read rate limit %s: %w", rule.Name, err)
	}
	return true, max(oldest.Add(rule.Window).Sub(now), time.Second), nil
}

// Exceeded reports whether key has used up its events in the window, and
// how long until it may try again. It records nothing.
func (l *Limiter) Exceeded(ctx context.Context, rule Rule, key string) (bool, time.Duration, error) {
	return l.state(ctx, l.db, rule, bucket(rule, key), l.clock.Now().UTC())
}

// Record counts one event for key.
func (l *Limiter) Record(ctx context.Context, rule Rule, key string) error {
	_, err := l.db.ExecContext(ctx, "INSERT INTO rate_events (bucket, at) VALUES (?, ?)", bucket(rule, key), l.clock.Now().UTC())
	if err != nil {
		return fmt.Errorf("record rate limit %s: %w", rule.Name, err)
	}
	return nil
}

// Allow counts one event for key unless that would exceed the rule, in
// which case it reports how long to wait. Check and count are one
// transaction, serialised per key, so concurrent requests cannot overshoot.
func (l *Limiter) Allow(ctx context.Context, rule Rule, key string) (bool, time.Duration, error) {
	b := bucket(rule, key)
	var allowed bool
	var wait time.Duration
	err := l.db.InTx(ctx, func(tx *database.Tx) error {
		if l.db.Dialect() == database.Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", b); err != nil {
				return fmt.Errorf("lock rate limit %s: %w", rule.Name, err)
			}
		}
		now := l.clock.Now().UTC()
		exceeded, w, err := l.state(ctx, tx, rule, b, now)
		if err != nil || exceeded {
			wait = w
			return err
		}
		allowed = true
		if _, err := tx.ExecContext(ctx, "INSERT INTO rate_events (bucket, at) VALUES (?, ?)", b, now); err != nil {
			return fmt.Errorf("record rate limit %s: %w", rule.Name, err)
		}
		return nil
	})
	return allowed, wait, err
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
