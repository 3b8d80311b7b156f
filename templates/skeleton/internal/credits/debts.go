package credits

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Reversal asks for credits paid for to be taken back because the payment
// was (partly) undone: refunded, or withdrawn by a dispute.
//
// A claim takes credits back in steps (a charge refunded twice, a
// dispute's funds withdrawn and then reinstated), and Stripe tells of
// each step more than once and in any order. So a reversal names the
// claim and the total the claim stands at now, not a step: under the
// account's lock the ledger sums what the claim has taken so far and moves
// only the difference. The same total again moves nothing, whoever asks,
// however often, on any instance.
type Reversal struct {
	UserID string
	// Claim names what takes the credits back, such as
	// "stripe-refund-ch_123"; it is the reference of the claim's entries.
	Claim string
	// Total is how many credits the claim takes back altogether; lower
	// than before, the difference is given back.
	Total int64
	// Grant is the journal entry that granted the credits paid for, if
	// any: its lot is drained first, so a refund takes back the
	// purchase's own credits before the user's expiring ones.
	Grant string
	// NeverLower: the claim only grows, as a refund is never undone, so
	// a lower total is a stale read and gives nothing back.
	NeverLower bool
	// FinalOnceLowered: once the claim has given credits back it is
	// settled, as a dispute won is final, so a higher total after that is
	// a stale read and takes nothing.
	FinalOnceLowered bool
	Reason           string
}

// SourceReinstated is the source of the lots reversals give back.
const SourceReinstated = "reinstated"

// Reversed is what one Reverse call moved.
type Reversed struct {
	// Taken came off the balance; Owed is what the balance lacked, now a
	// debt; Restored was given back (a lower total), after paying debts.
	Taken, Owed, Restored int64
}

// Reverse brings the claim to r.Total. Credits taken back come off the
// balance down to zero, never below: the shortfall is a debt on the
// account, which the next credits in pay first.
func (l *Ledger) Reverse(ctx context.Context, r Reversal) (Reversed, error) {
	r.Claim = strings.TrimSpace(r.Claim)
	if r.Claim == "" {
		return Reversed{}, errors.New("a reversal needs the claim it belongs to, such as the refunded charge")
	}
	if r.Total < 0 || r.Total > MaxAmount {
		return Reversed{}, fmt.Errorf("a reversal's total is from 0 to %d credits, not %d", MaxAmount, r.Total)
	}
	var out Reversed
	_, err := l.submitDirect(ctx, r.UserID, func(ctx context.Context, b *batch) (Result, error) {
		// The operation may run again when its batch is retried.
		out = Reversed{}
		tx, now := b.tx.Tx, l.utcNow()
		if _, err := l.lockAccount(ctx, tx, r.UserID, now); err != nil {
			return Result{}, err
		}
		stands, gaveBack, err := claimed(ctx, tx, r.UserID, r.Claim)
		if err != nil {
			return Result{}, err
		}
		change := r.Total - stands
		if change < 0 && r.NeverLower || change > 0 && r.FinalOnceLowered && gaveBack {
			change = 0
		}
		switch {
		case change > 0:
			balance, err := b.expire(ctx, r.UserID, now)
			if err != nil {
				return Result{}, err
			}
			out.Taken, out.Owed = min(balance, change), change-min(balance, change)
			var entryID string
			if out.Taken > 0 {
				lot, err := grantedLot(ctx, tx, r.UserID, r.Grant)
				if err != nil {
					return Result{}, err
				}
				res, err := b.debit(ctx, Debit{UserID: r.UserID, Amount: out.Taken, Reference: r.Claim, firstLot: lot}, KindPaymentReversal, "", r.Reason, nil)
				if err != nil {
					return Result{}, err
				}
				if err := b.Flush(ctx); err != nil {
					return Result{}, err
				}
				entryID = res.Entry.ID
			}
			if out.Owed > 0 {
				if _, err := tx.ExecContext(ctx,
					`INSERT INTO credit_debts (id, user_id, reference, amount, remaining, journal_id, reason, created_at)
					 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					rand.Text(), r.UserID, r.Claim, out.Owed, out.Owed, entryID, r.Reason, now); err != nil {
					return Result{}, fmt.Errorf("record a debt: %w", err)
				}
			}
		case change < 0:
			out.Restored = -change
			// Given back as the purchase it was: permanent credits, which
			// pay the account's debts first, this claim's own included.
			if _, err := b.credit(ctx, Credit{UserID: r.UserID, Kind: KindPurchase, Amount: out.Restored, Source: SourceReinstated,
				Priority: PriorityPermanent, Reference: r.Claim, Reason: r.Reason}, nil); err != nil {
				return Result{}, err
			}
		}
		return Result{}, nil
	})
	if err != nil {
		return Reversed{}, fmt.Errorf("reverse %s: %w", r.Claim, err)
	}
	return out, nil
}

// claimed is how many credits the claim takes back now: what its
// reversals took off the balance and recorded as debts, less what it gave
// back; and whether it ever gave any back.
func claimed(ctx context.Context, tx *database.Tx, userID, claim string) (stands int64, gaveBack bool, err error) {
	err = tx.QueryRowContext(ctx,
		`SELECT COALESCE((SELECT -SUM(amount) FROM credit_journal
		                  WHERE user_id = ? AND reference = ? AND kind IN ('payment_reversal', 'purchase')), 0)
		      + COALESCE((SELECT SUM(amount) FROM credit_debts WHERE user_id = ? AND reference = ?), 0),
		        EXISTS (SELECT 1 FROM credit_journal WHERE user_id = ? AND reference = ? AND kind = 'purchase')`,
		userID, claim, userID, claim, userID, claim).Scan(&stands, &gaveBack)
	if err != nil {
		return 0, false, fmt.Errorf("sum what %s took back: %w", claim, err)
	}
	return stands, gaveBack, nil
}

// grantedLot is the lot the user's journal entry grant created; none
// without a grant.
func grantedLot(ctx context.Context, tx *database.Tx, userID, grant string) (string, error) {
	if grant == "" {
		return "", nil
	}
	var lot string
	err := tx.QueryRowContext(ctx, "SELECT lot_id FROM credit_journal WHERE id = ? AND user_id = ?", grant, userID).Scan(&lot)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("the grant %s of a reversal is not an entry of user %s", grant, userID)
	}
	if err != nil {
		return "", fmt.Errorf("read the lot of grant %s: %w", grant, err)
	}
	return lot, nil
}

type openDebt struct {
	id        string
	remaining int64
}

// payDebts pays the user's debts, oldest first, from the balance that
// creditID has just raised, as one payment_reversal entry referring to
// that credit, and returns what it paid.
func (b *batch) payDebts(ctx context.Context, user, creditID string) (int64, error) {
	var debts []openDebt
	var owed int64
	err := b.each(ctx, "read debts", func(rows *sql.Rows) error {
		var d openDebt
		if err := rows.Scan(&d.id, &d.remaining); err != nil {
			return err
		}
		debts, owed = append(debts, d), owed+d.remaining
		return nil
	}, "SELECT id, remaining FROM credit_debts WHERE user_id = ? AND remaining > 0 ORDER BY seq", user)
	if err != nil || owed == 0 {
		return 0, err
	}
	// The credit was written with its own statements: what the batch knew
	// of the account is stale.
	delete(b.accounts, user)
	a, err := b.account(ctx, user)
	if err != nil {
		return 0, err
	}
	pay := min(owed, a.balance)
	if pay == 0 {
		return 0, nil
	}
	res, err := b.debit(ctx, Debit{UserID: user, Amount: pay, Reference: creditID}, KindPaymentReversal, "", "pays the debt of reversed payments", nil)
	if err != nil {
		return 0, err
	}
	if err := b.Flush(ctx); err != nil {
		return 0, err
	}
	paid := pay
	for _, d := range debts {
		if pay == 0 {
			break
		}
		n := min(pay, d.remaining)
		pay -= n
		if _, err := b.tx.ExecContext(ctx, "UPDATE credit_debts SET remaining = remaining - ? WHERE id = ?", n, d.id); err != nil {
			return 0, fmt.Errorf("pay a debt: %w", err)
		}
		if _, err := b.tx.ExecContext(ctx, "INSERT INTO credit_debt_payments (journal_id, debt_id, amount) VALUES (?, ?, ?)",
			res.Entry.ID, d.id, n); err != nil {
			return 0, fmt.Errorf("record a debt's payment: %w", err)
		}
	}
	return paid, nil
}

// Debt returns what the user owes: credits that reversals could not take
// from the balance and that no credits since have paid.
func (l *Ledger) Debt(ctx context.Context, userID string) (int64, error) {
	var owed int64
	err := l.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(remaining), 0) FROM credit_debts WHERE user_id = ?", userID).Scan(&owed)
	if err != nil {
		return 0, fmt.Errorf("read the debt: %w", err)
	}
	return owed, nil
}

// verifyDebts checks the debts: each one's paid part is what its payments
// say, each payment entry took exactly what it paid, and no account owes
// while it holds credits (the credits would have paid the debt).
func (l *Ledger) verifyDebts(ctx context.Context) ([]Problem, error) {
	checks := []struct{ what, query string }{
		{"debt %s: %d paid, its payments say %d", `
			SELECT d.user_id, d.id, d.amount - d.remaining, COALESCE((SELECT SUM(p.amount) FROM credit_debt_payments p WHERE p.debt_id = d.id), 0)
			FROM credit_debts d
			WHERE d.amount - d.remaining <> COALESCE((SELECT SUM(p.amount) FROM credit_debt_payments p WHERE p.debt_id = d.id), 0)`},
		{"entry %s took %d credits, paying %d of debts", `
			SELECT j.user_id, j.id, -j.amount, SUM(p.amount) FROM credit_journal j JOIN credit_debt_payments p ON p.journal_id = j.id
			GROUP BY j.user_id, j.id, j.amount HAVING -j.amount <> SUM(p.amount)`},
		{"owes %[2]d credits while holding %[3]d", `
			SELECT a.user_id, a.user_id, SUM(d.remaining), a.balance FROM credit_accounts a JOIN credit_debts d ON d.user_id = a.user_id
			WHERE a.balance > 0 GROUP BY a.user_id, a.balance HAVING SUM(d.remaining) > 0`},
	}
	var problems []Problem
	for _, c := range checks {
		rows, err := l.db.QueryContext(ctx, c.query)
		if err != nil {
			return nil, fmt.Errorf("check the debts: %w", err)
		}
		for rows.Next() {
			var user, id string
			var x, y int64
			if err := rows.Scan(&user, &id, &x, &y); err != nil {
				rows.Close()
				return nil, fmt.Errorf("check the debts: %w", err)
			}
			problems = append(problems, Problem{user, fmt.Sprintf(c.what, id, x, y)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("check the debts: %w", err)
		}
	}
	return problems, nil
}
