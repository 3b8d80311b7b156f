package credits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Settings are a user's credit notices.
type Settings struct {
	// LowBalanceThreshold: a balance falling below it sends one notice per
	// crossing and shows a banner; 0 turns the notice off.
	LowBalanceThreshold int64
	// WeeklySummary: a usage summary by email every week.
	WeeklySummary bool
}

// LowBalanceFunc is called, inside the transaction of the debit, when a
// balance falls below the user's threshold; it queues the notice there, so
// the notice exists if and only if the debit commits. Like ConsumeWith's
// hook, it may run more than once and must write only through tx.
type LowBalanceFunc func(ctx context.Context, tx *database.Tx, userID string, balance, threshold int64) error

// OnLowBalance sets what happens when a balance crosses its threshold.
func (l *Ledger) OnLowBalance(fn LowBalanceFunc) { l.onLow = fn }

// Settings returns the user's notice settings (the defaults when the user
// has no account row yet).
func (l *Ledger) Settings(ctx context.Context, userID string) (Settings, error) {
	s := Settings{WeeklySummary: true}
	err := l.db.QueryRowContext(ctx, "SELECT low_balance_threshold, weekly_summary FROM credit_accounts WHERE user_id = ?", userID).
		Scan(&s.LowBalanceThreshold, &s.WeeklySummary)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("read credit settings: %w", err)
	}
	return s, nil
}

// SaveSettings stores the user's notice settings. A new threshold re-arms
// the notice when the balance is at or above it.
func (l *Ledger) SaveSettings(ctx context.Context, userID string, s Settings) error {
	if s.LowBalanceThreshold < 0 || s.LowBalanceThreshold > MaxAmount {
		return fmt.Errorf("the low-balance threshold must be from 0 to %d credits", MaxAmount)
	}
	_, err := l.submitDirect(ctx, userID, func(ctx context.Context, b *batch) (Result, error) {
		tx, now := b.tx.Tx, l.utcNow()
		if _, err := l.lockAccount(ctx, tx, userID, now); err != nil {
			return Result{}, err
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE credit_accounts SET low_balance_threshold = ?, weekly_summary = ?, updated_at = ?,
			 low_balance_notified = (balance < ?) WHERE user_id = ?`,
			s.LowBalanceThreshold, s.WeeklySummary, now, s.LowBalanceThreshold, userID)
		if err != nil {
			return Result{}, fmt.Errorf("save credit settings: %w", err)
		}
		return Result{}, nil
	})
	return err
}

// rearmLowBalance clears the notice once credits lift the balance back to
// the threshold, so the next fall sends a new one.
func rearmLowBalance(ctx context.Context, tx *database.Tx, userID string) error {
	_, err := tx.ExecContext(ctx,
		"UPDATE credit_accounts SET low_balance_notified = FALSE WHERE user_id = ? AND low_balance_notified AND balance >= low_balance_threshold", userID)
	if err != nil {
		return fmt.Errorf("re-arm the low-balance notice: %w", err)
	}
	return nil
}

// WeeklyUsage is one opted-in user's use over a week.
type WeeklyUsage struct {
	UserID   string
	Runs     int64
	Consumed int64
	Balance  int64
}

// WeeklySummaries returns, for every user who wants the weekly summary and
// had any credit movement in [from, to), their use in that period.
func (l *Ledger) WeeklySummaries(ctx context.Context, from, to time.Time) ([]WeeklyUsage, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT a.user_id, a.balance,
		       COALESCE(SUM(CASE WHEN j.kind = 'consumption' THEN 1 ELSE 0 END), 0),
		       COALESCE(-SUM(CASE WHEN j.kind IN ('consumption', 'refund') THEN j.amount ELSE 0 END), 0)
		FROM credit_accounts a JOIN credit_journal j ON j.user_id = a.user_id AND j.created_at >= ? AND j.created_at < ?
		WHERE a.weekly_summary
		GROUP BY a.user_id, a.balance ORDER BY a.user_id`, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("sum the week's use: %w", err)
	}
	defer rows.Close()
	var out []WeeklyUsage
	for rows.Next() {
		var w WeeklyUsage
		if err := rows.Scan(&w.UserID, &w.Balance, &w.Runs, &w.Consumed); err != nil {
			return nil, fmt.Errorf("sum the week's use: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
