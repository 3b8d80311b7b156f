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

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Rule is at most Limit events in any Window for one key.
type Rule struct {
	Name   string
	Limit  int
	Window time.Duration
}

// The limits of django-allauth's strict settings.
var (
	LoginFailuresPerIP      = Rule{"login-ip", 10, time.Minute}
	LoginFailuresPerAccount = Rule{"login-account", 5, 5 * time.Minute}
	SignupPerIP             = Rule{"signup-ip", 20, time.Minute}
	ResetPerIP              = Rule{"reset-ip", 20, time.Minute}
	ResetPerAddress         = Rule{"reset-address", 5, time.Minute}
	ResendPerAddress        = Rule{"resend-address", 1, 3 * time.Minute}
	EmailChangePerUser      = Rule{"email-change-user", 3, 10 * time.Minute}
	ReauthFailuresPerUser   = Rule{"reauth-user", 5, 5 * time.Minute}
)

// Limiter stores events in the rate_events table.
type Limiter struct {
	db  *database.DB
	now func() time.Time
}

// New returns a limiter over db.
func New(db *database.DB) *Limiter { return &Limiter{db: db, now: time.Now} }

// SetClock replaces the clock, for tests.
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

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
	return l.state(ctx, l.db, rule, bucket(rule, key), l.now().UTC())
}

// Record counts one event for key.
func (l *Limiter) Record(ctx context.Context, rule Rule, key string) error {
	_, err := l.db.ExecContext(ctx, "INSERT INTO rate_events (bucket, at) VALUES (?, ?)", bucket(rule, key), l.now().UTC())
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
		now := l.now().UTC()
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

// Prune deletes events older than the longest window any rule uses.
func (l *Limiter) Prune(ctx context.Context) error {
	_, err := l.db.ExecContext(ctx, "DELETE FROM rate_events WHERE at < ?", l.now().UTC().Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("prune rate limits: %w", err)
	}
	return nil
}
