// Package audit records who did what to whom: every administrative action
// on an account is a row in audit_log, written in the same transaction as
// the action itself.
package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Entry is one recorded action.
type Entry struct {
	ID       string
	At       time.Time
	ActorID  string
	TargetID string
	Action   string
	Detail   string
}

// ErrUndated refuses an entry without a time: the caller dates it with its
// own clock, the one the action it records ran on, so that tests with a
// fake clock and the entry's neighbours in the log agree.
var ErrUndated = errors.New("write audit log: the entry has no time: set Entry.At from the caller's clock")

// Record writes e through q.
func Record(ctx context.Context, q database.Execer, e Entry) error {
	if e.At.IsZero() {
		return ErrUndated
	}
	_, err := q.ExecContext(ctx,
		"INSERT INTO audit_log (id, at, actor_id, target_id, action, detail) VALUES (?, ?, ?, ?, ?, ?)",
		rand.Text(), e.At.UTC(), e.ActorID, e.TargetID, e.Action, e.Detail)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// Log reads the audit log.
type Log struct{ db *database.DB }

// NewLog returns the audit log stored in db.
func NewLog(db *database.DB) *Log { return &Log{db: db} }

// Recent returns up to limit entries, newest first; with targetID set,
// only those about that account.
func (l *Log) Recent(ctx context.Context, targetID string, limit int) ([]Entry, error) {
	query := "SELECT id, at, actor_id, target_id, action, detail FROM audit_log"
	args := []any{}
	if targetID != "" {
		query += " WHERE target_id = ?"
		args = append(args, targetID)
	}
	query += " ORDER BY at DESC, id LIMIT ?"
	rows, err := l.db.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.TargetID, &e.Action, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
