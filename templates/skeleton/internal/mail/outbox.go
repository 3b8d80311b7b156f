// Package mail sends the application's transactional email through a
// durable outbox: a message is a row written in the same transaction as the
// change it reports, and a worker delivers due rows with retries and
// backoff. A crash or an SMTP outage delays email; it never loses it.
package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Message is one email, ready to send.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Outbox is the outbox table.
type Outbox struct {
	db    *database.DB
	clock clock.Clock
	wake  chan struct{}
}

// NewOutbox returns the outbox stored in db, whose delivery times go by clk.
func NewOutbox(db *database.DB, clk clock.Clock) *Outbox {
	return &Outbox{db: db, clock: clk, wake: make(chan struct{}, 1)}
}

// Enqueue stores m for delivery, through q (the outbox's database or a
// transaction on it). The worker is woken once q commits.
func (o *Outbox) Enqueue(ctx context.Context, q database.Execer, m Message) error {
	now := o.clock.Now().UTC()
	_, err := q.ExecContext(ctx,
		"INSERT INTO outbox (to_addr, subject, text_body, html_body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
		m.To, m.Subject, m.Text, m.HTML, now, now)
	if err != nil {
		return fmt.Errorf("queue email: %w", err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Queued is an outbox row, for the development outbox page and tests.
type Queued struct {
	ID            int64
	Message       Message
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	SentAt        sql.NullTime
	FailedAt      sql.NullTime
	LastError     string
}

// Status is "sent", "failed" or "pending".
func (q Queued) Status() string {
	switch {
	case q.SentAt.Valid:
		return "sent"
	case q.FailedAt.Valid:
		return "failed"
	}
	return "pending"
}

// Recent returns up to limit messages, newest first.
func (o *Outbox) Recent(ctx context.Context, limit int) ([]Queued, error) {
	rows, err := o.db.QueryContext(ctx,
		`SELECT id, to_addr, subject, text_body, html_body, created_at, attempts, next_attempt_at, sent_at, failed_at, last_error
		 FROM outbox ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []Queued
	for rows.Next() {
		var q Queued
		if err := rows.Scan(&q.ID, &q.Message.To, &q.Message.Subject, &q.Message.Text, &q.Message.HTML,
			&q.CreatedAt, &q.Attempts, &q.NextAttemptAt, &q.SentAt, &q.FailedAt, &q.LastError); err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// claim takes the oldest due message for lease, so that another worker
// (another instance of the application) skips it. The outer conditions are
// repeated so that on PostgreSQL a concurrent claim of the same row, which
// re-checks them after waiting for the row lock, finds it taken.
func (o *Outbox) claim(ctx context.Context, lease time.Duration) (*Queued, error) {
	now := o.clock.Now().UTC()
	var q Queued
	err := o.db.QueryRowContext(ctx, `
		UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
		WHERE id = (
			SELECT id FROM outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
			  AND (claimed_until IS NULL OR claimed_until < ?)
			ORDER BY next_attempt_at, id LIMIT 1)
		  AND sent_at IS NULL AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)
		RETURNING id, to_addr, subject, text_body, html_body, created_at, attempts`,
		now.Add(lease), now, now, now,
	).Scan(&q.ID, &q.Message.To, &q.Message.Subject, &q.Message.Text, &q.Message.HTML, &q.CreatedAt, &q.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim an outbox message: %w", err)
	}
	return &q, nil
}

func (o *Outbox) markSent(ctx context.Context, id int64) error {
	_, err := o.db.ExecContext(ctx, "UPDATE outbox SET sent_at = ?, claimed_until = NULL, last_error = '' WHERE id = ?", o.clock.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("mark email %d sent: %w", id, err)
	}
	return nil
}

func (o *Outbox) markRetry(ctx context.Context, id int64, next time.Time, failed bool, cause error) error {
	var failedAt any
	if failed {
		failedAt = o.clock.Now().UTC()
	}
	_, err := o.db.ExecContext(ctx,
		"UPDATE outbox SET next_attempt_at = ?, claimed_until = NULL, failed_at = ?, last_error = ? WHERE id = ?",
		next.UTC(), failedAt, truncate(cause.Error(), 500), id)
	if err != nil {
		return fmt.Errorf("reschedule email %d: %w", id, err)
	}
	return nil
}

// truncate bounds an error message for storage; PostgreSQL refuses
// invalid UTF-8, which a server's reply may hold.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, id string, m Message) error
}

// Worker delivers the outbox's due messages through a Sender.
type Worker struct {
	Outbox *Outbox
	Sender Sender
	Logger *slog.Logger
	// Poll is how often the worker looks for due messages when nothing
	// wakes it; retries become due while it sleeps.
	Poll time.Duration
	// Lease is how long a claimed message is reserved for this worker;
	// a worker that crashes mid-send frees it when the lease ends.
	Lease time.Duration
	// MaxAttempts is how many tries a message gets before it is marked
	// failed.
	MaxAttempts int
}

// NewWorker returns a worker with production timings.
func NewWorker(outbox *Outbox, sender Sender, logger *slog.Logger) *Worker {
	return &Worker{Outbox: outbox, Sender: sender, Logger: logger, Poll: 5 * time.Second, Lease: 2 * time.Minute, MaxAttempts: 12}
}

// Backoff is the wait before attempt n+1 after n failed ones: 30 s
// doubling, at most an hour.
func Backoff(attempts int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Run delivers messages until ctx is cancelled.
func (w *Worker) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.Outbox.wake:
		}
		if _, err := w.Drain(ctx); err != nil && ctx.Err() == nil {
			w.Logger.ErrorContext(ctx, "email outbox", "err", err)
		}
		timer.Reset(w.Poll)
	}
}

// Drain delivers every message due now and returns how many were sent.
// A failed delivery is rescheduled and does not stop the others.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	sent := 0
	for {
		q, err := w.Outbox.claim(ctx, w.Lease)
		if err != nil || q == nil {
			return sent, err
		}
		sendCtx, cancel := context.WithTimeout(ctx, w.Lease/2)
		err = w.Sender.Send(sendCtx, strconv.FormatInt(q.ID, 10), q.Message)
		cancel()
		if err == nil {
			sent++
			w.Logger.InfoContext(ctx, "email sent", "email_id", q.ID, "attempt", q.Attempts)
			if err := w.Outbox.markSent(ctx, q.ID); err != nil {
				return sent, err
			}
			continue
		}
		failed := q.Attempts >= w.MaxAttempts
		next := w.Outbox.clock.Now().Add(Backoff(q.Attempts))
		w.Logger.WarnContext(ctx, "email not sent", "email_id", q.ID, "attempt", q.Attempts, "gave_up", failed, "err", err)
		if err := w.Outbox.markRetry(ctx, q.ID, next, failed, err); err != nil {
			return sent, err
		}
		// The sender is failing; the rest wait for the next round rather
		// than each failing the same way now.
		return sent, nil
	}
}
