package credits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Statement sums up a user's credits in one line, for the audit entry of
// the account's deletion: the deletion removes the account's ledger (ON
// DELETE CASCADE), and the balance and the journal's totals by kind at
// that moment are what the financial records keep of it. It reads through
// tx, the deletion's transaction, with the credit account locked, so that
// no movement falls between the statement and the deletion. Purchases made
// through a payment provider also keep the provider's own records.
func (l *Ledger) Statement(ctx context.Context, tx *database.Tx, userID string) (string, error) {
	query := "SELECT balance FROM credit_accounts WHERE user_id = ?"
	if l.db.Dialect() == database.Postgres {
		query += " FOR UPDATE"
	}
	var balance int64
	err := tx.QueryRowContext(ctx, query, userID).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		return "no credit account", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the credit account: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT kind, SUM(amount), COUNT(*) FROM credit_journal WHERE user_id = ? GROUP BY kind", userID)
	if err != nil {
		return "", fmt.Errorf("total the journal: %w", err)
	}
	defer rows.Close()
	type total struct{ amount, entries int64 }
	totals := map[Kind]total{}
	for rows.Next() {
		var k Kind
		var t total
		if err := rows.Scan(&k, &t.amount, &t.entries); err != nil {
			return "", fmt.Errorf("total the journal: %w", err)
		}
		totals[k] = t
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("total the journal: %w", err)
	}
	parts := []string{}
	for _, k := range Kinds {
		if t, ok := totals[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %+d (%d entries)", k, t.amount, t.entries))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no entries")
	}
	return fmt.Sprintf("balance %d; journal: %s", balance, strings.Join(parts, ", ")), nil
}
