package credits

import (
	"context"
	"fmt"
	"time"
)

// DayUsage is what a user spent on one UTC day, net of refunds.
type DayUsage struct {
	Day      time.Time
	Consumed int64
}

// Usage returns the user's net consumption per UTC day for the days days
// ending with now's, oldest first, with zero days included.
func (l *Ledger) Usage(ctx context.Context, userID string, days int, now time.Time) ([]DayUsage, error) {
	end := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	start := end.AddDate(0, 0, -days)
	rows, err := l.db.QueryContext(ctx,
		`SELECT amount, created_at FROM credit_journal
		 WHERE user_id = ? AND kind IN ('consumption', 'refund') AND created_at >= ? AND created_at < ?`, userID, start, end)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	defer rows.Close()
	out := make([]DayUsage, days)
	for i := range out {
		out[i].Day = start.AddDate(0, 0, i)
	}
	for rows.Next() {
		var amount int64
		var at time.Time
		if err := rows.Scan(&amount, &at); err != nil {
			return nil, fmt.Errorf("read usage: %w", err)
		}
		if i := int(at.UTC().Sub(start) / (24 * time.Hour)); i >= 0 && i < days {
			out[i].Consumed -= amount
		}
	}
	return out, rows.Err()
}

// Totals sums the journal by kind: credits in are positive, out negative.
type Totals struct {
	Purchased, Granted, Consumed, Refunded, Expired, Deducted, Reversed int64
	Outstanding                                                         int64 // the sum of all balances
	// Reinstated is what reversals gave back (a dispute won): journaled
	// as purchases, it is left out of Purchased.
	Reinstated int64
	// Owed is what all accounts owe: reversals their balances lacked.
	Owed     int64
	Accounts int
}

// NetConsumed is what services used, refunds taken off.
func (t Totals) NetConsumed() int64 { return t.Consumed - t.Refunded }

// Totals returns the ledger-wide sums for the admin overview.
func (l *Ledger) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	// credit_totals is the journal summed by account and kind (migration
	// 0012), which Verify checks against the journal.
	rows, err := l.db.QueryContext(ctx, "SELECT kind, COALESCE(SUM(amount), 0) FROM credit_totals GROUP BY kind")
	if err != nil {
		return t, fmt.Errorf("sum the journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var sum int64
		if err := rows.Scan(&kind, &sum); err != nil {
			return t, fmt.Errorf("sum the journal: %w", err)
		}
		switch Kind(kind) {
		case KindPurchase:
			t.Purchased = sum
		case KindGrant:
			t.Granted = sum
		case KindConsumption:
			t.Consumed = -sum
		case KindRefund:
			t.Refunded = sum
		case KindExpiry:
			t.Expired = -sum
		case KindAdminDeduction:
			t.Deducted = -sum
		case KindPaymentReversal:
			t.Reversed = -sum
		}
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("sum the journal: %w", err)
	}
	err = l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(balance), 0), COUNT(*), COALESCE((SELECT SUM(remaining) FROM credit_debts), 0),
		COALESCE((SELECT SUM(amount) FROM credit_lots WHERE source = ?), 0) FROM credit_accounts`, SourceReinstated).
		Scan(&t.Outstanding, &t.Accounts, &t.Owed, &t.Reinstated)
	if err != nil {
		return t, fmt.Errorf("sum the balances: %w", err)
	}
	t.Purchased -= t.Reinstated
	return t, nil
}

// Consumer is one user's net consumption.
type Consumer struct {
	UserID   string
	Email    string
	Consumed int64
	Balance  int64
}

// TopConsumers returns the users who used the most credits since since.
// The journal is summed and ranked first and only the top users are
// joined to their address and balance: joining every user of the period
// first tripled the query's time at a million entries.
func (l *Ledger) TopConsumers(ctx context.Context, since time.Time, limit int) ([]Consumer, error) {
	rows, err := l.db.QueryContext(ctx,
		`SELECT t.user_id, u.email, t.used, a.balance
		 FROM (SELECT user_id, -SUM(amount) AS used FROM credit_journal
		       WHERE kind IN ('consumption', 'refund') AND created_at >= ?
		       GROUP BY user_id HAVING -SUM(amount) > 0
		       ORDER BY used DESC, user_id LIMIT ?) t
		 JOIN users u ON u.id = t.user_id JOIN credit_accounts a ON a.user_id = t.user_id
		 ORDER BY t.used DESC, t.user_id`, since.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("rank consumers: %w", err)
	}
	defer rows.Close()
	var out []Consumer
	for rows.Next() {
		var c Consumer
		if err := rows.Scan(&c.UserID, &c.Email, &c.Consumed, &c.Balance); err != nil {
			return nil, fmt.Errorf("rank consumers: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ServiceTotal is one service's use over a period.
type ServiceTotal struct {
	Service  string
	Runs     int64 // charged runs
	Refunds  int64 // of which failed and refunded
	Consumed int64 // net credits
}

// SuccessRate is the share of charged runs that were not refunded, 0..100.
func (s ServiceTotal) SuccessRate() int64 {
	if s.Runs == 0 {
		return 100
	}
	return (s.Runs - s.Refunds) * 100 / s.Runs
}

// ServiceTotals sums paid use per service since since; with userID set,
// only that user's.
func (l *Ledger) ServiceTotals(ctx context.Context, userID string, since time.Time) ([]ServiceTotal, error) {
	query := `SELECT service,
		SUM(CASE WHEN kind = 'consumption' THEN 1 ELSE 0 END),
		SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END),
		-SUM(amount)
		FROM credit_journal WHERE kind IN ('consumption', 'refund') AND created_at >= ?`
	args := []any{since.UTC()}
	if userID != "" {
		query += " AND user_id = ?"
		args = append(args, userID)
	}
	rows, err := l.db.QueryContext(ctx, query+" GROUP BY service ORDER BY 4 DESC, service", args...)
	if err != nil {
		return nil, fmt.Errorf("sum use per service: %w", err)
	}
	defer rows.Close()
	var out []ServiceTotal
	for rows.Next() {
		var s ServiceTotal
		if err := rows.Scan(&s.Service, &s.Runs, &s.Refunds, &s.Consumed); err != nil {
			return nil, fmt.Errorf("sum use per service: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
