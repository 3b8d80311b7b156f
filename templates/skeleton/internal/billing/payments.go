package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/paging"
)

// Payment is a purchase as administrators look it up: with its buyer's
// address and its package's name.
type Payment struct {
	Purchase
	Email       string
	PackageName string
}

// Refundable is what is left to refund, in minor units.
func (p Purchase) Refundable() int64 {
	if p.Status != StatusPaid {
		return 0
	}
	return p.Amount - p.AmountRefunded
}

// Paid, Refunded and Left are the purchase's amounts as people read them.
func (p Purchase) Paid() string     { return FormatAmount(p.Amount, p.Currency) }
func (p Purchase) Refunded() string { return FormatAmount(p.AmountRefunded, p.Currency) }
func (p Purchase) Left() string     { return FormatAmount(p.Refundable(), p.Currency) }

// PaymentQuery selects payments for the admin list.
type PaymentQuery struct {
	Search  string // part of the buyer's address
	Status  Status // "" for any
	Page    int    // from 1
	PerPage int
}

// PaymentList is one page of payments.
type PaymentList struct {
	Payments []Payment
	Total    int
	Page     int
	PerPage  int
}

// Pages is the number of pages.
func (l PaymentList) Pages() int { return paging.Pages(l.Total, l.PerPage) }

// Statuses lists every purchase status, in the order filters show them.
var Statuses = []Status{StatusPending, StatusPaid, StatusRefunded, StatusFailed, StatusExpired}

const selectPayment = `SELECT p.id, p.user_id, p.package_id, p.status, p.credits, p.amount, p.currency, COALESCE(p.checkout_session_id, ''),
	p.payment_intent_id, p.journal_id, p.amount_refunded, p.created_at, p.paid_at, u.email, k.name
	FROM purchases p JOIN users u ON u.id = p.user_id JOIN credit_packages k ON k.id = p.package_id`

func scanPayment(row rowScanner) (Payment, error) {
	var pay Payment
	p, err := scanPurchase(row, &pay.Email, &pay.PackageName)
	pay.Purchase = p
	return pay, err
}

// Payments returns the payments matching q, newest first; a page past the
// end gives the last page.
func (b *Billing) Payments(ctx context.Context, q PaymentQuery) (PaymentList, error) {
	q.PerPage = min(max(q.PerPage, 1), 100)
	where := []string{"1 = 1"}
	var args []any
	if s := strings.TrimSpace(q.Search); s != "" {
		where = append(where, `u.email_normalized LIKE ? ESCAPE '\'`)
		args = append(args, database.LikePattern(s))
	}
	if q.Status != "" {
		where = append(where, "p.status = ?")
		args = append(args, string(q.Status))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	list := PaymentList{PerPage: q.PerPage}
	if err := b.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM purchases p JOIN users u ON u.id = p.user_id"+cond, args...).Scan(&list.Total); err != nil {
		return PaymentList{}, fmt.Errorf("count payments: %w", err)
	}
	var offset int
	list.Page, offset = paging.Clamp(q.Page, q.PerPage, list.Total)
	rows, err := b.db.QueryContext(ctx, selectPayment+cond+" ORDER BY p.seq DESC LIMIT ? OFFSET ?", append(args, q.PerPage, offset)...)
	if err != nil {
		return PaymentList{}, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return PaymentList{}, fmt.Errorf("list payments: %w", err)
		}
		list.Payments = append(list.Payments, p)
	}
	if err := rows.Err(); err != nil {
		return PaymentList{}, fmt.Errorf("list payments: %w", err)
	}
	return list, nil
}

// Payment returns one payment, or ErrNoSuchPurchase.
func (b *Billing) Payment(ctx context.Context, id string) (Payment, error) {
	p, err := scanPayment(b.db.QueryRowContext(ctx, selectPayment+" WHERE p.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, ErrNoSuchPurchase
	}
	if err != nil {
		return Payment{}, fmt.Errorf("read a payment: %w", err)
	}
	return p, nil
}
