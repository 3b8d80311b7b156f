package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
)

// Outcome is what a call of Fulfill did.
type Outcome string

const (
	// Granted: this call granted the purchase's credits.
	Granted Outcome = "granted"
	// AlreadyGranted: an earlier call did; nothing changed.
	AlreadyGranted Outcome = "already granted"
	// NotPaid: the session is not paid (yet); nothing changed.
	NotPaid Outcome = "not paid"
	// Refused: the session does not match our catalogue or our purchase
	// (unknown price, wrong amount or currency, someone else's purchase):
	// nothing is granted, and the reason is logged for an administrator.
	Refused Outcome = "refused"
)

// grantKey is the ledger idempotency key of a session's grant: one per
// session, however many events (completed, async_payment_succeeded) and
// success-page visits announce it.
func grantKey(sessionID string) string { return "stripe-checkout-" + sessionID }

// Fulfill grants the credits of the checkout session, once. It may be
// called any number of times, in any order, concurrently, on any
// instance: the grant and the purchase's paid mark commit in one
// transaction under the session's idempotency key, so every call after
// the first finds the grant and changes nothing. An error (Stripe or the
// database unreachable) means nothing was granted and the call is worth
// repeating.
func (b *Billing) Fulfill(ctx context.Context, sessionID string) (Outcome, error) {
	s, err := b.stripe.CheckoutSession(ctx, sessionID)
	if err != nil {
		return "", err
	}
	refuse := func(why string, args ...any) (Outcome, error) {
		b.logger.ErrorContext(ctx, "stripe checkout not fulfilled: it does not match our purchase or catalogue",
			append([]any{"session", s.ID, "purchase", s.ClientReferenceID, "reason", why}, args...)...)
		return Refused, nil
	}
	p, err := b.Purchase(ctx, s.ClientReferenceID)
	if errors.Is(err, ErrNoSuchPurchase) {
		return refuse("no purchase of ours has this client_reference_id")
	}
	if err != nil {
		return "", err
	}
	if p.CheckoutSessionID != "" && p.CheckoutSessionID != s.ID {
		return refuse("the purchase belongs to another checkout session", "purchase_session", p.CheckoutSessionID)
	}
	if s.PaymentStatus != PaymentPaid {
		b.logger.InfoContext(ctx, "stripe checkout not paid yet", "session", s.ID, "purchase", p.ID, "payment_status", s.PaymentStatus)
		return NotPaid, nil
	}
	if p.Status == StatusPaid || p.Status == StatusRefunded {
		return AlreadyGranted, nil
	}
	if len(s.LineItems) != 1 || s.LineItems[0].Quantity != 1 {
		return refuse("a purchase is one package, once", "line_items", len(s.LineItems))
	}
	item := s.LineItems[0]
	// The package's price now, or one a new amount replaced while the
	// buyer was at the checkout: the purchase row holds what was offered.
	pkg, err := packageWhere(ctx, b.db, "stripe_price_id = ? OR id IN (SELECT package_id FROM credit_package_prices WHERE price_id = ?)",
		item.PriceID, item.PriceID)
	if errors.Is(err, ErrNoPackage) {
		return refuse("the price paid is not in our catalogue", "price", item.PriceID)
	}
	if err != nil {
		return "", err
	}
	if pkg.ID != p.PackageID {
		return refuse("the price paid is another package's", "price", item.PriceID, "package", pkg.ID, "purchased", p.PackageID)
	}
	if s.AmountTotal != p.Amount || s.Currency != p.Currency || item.AmountTotal != p.Amount || item.Currency != p.Currency {
		return refuse("the amount paid is not the package's price",
			"paid", fmt.Sprintf("%d %s", s.AmountTotal, s.Currency), "price", fmt.Sprintf("%d %s", p.Amount, p.Currency))
	}

	confirmation, err := b.compose(ctx, "purchase_confirmed", p, b.mail.ReceiptLink(p.ID), purchaseLines(p)...)
	if err != nil {
		return "", err
	}
	res, err := b.ledger.AddWith(ctx, credits.Credit{
		UserID: p.UserID, Kind: credits.KindPurchase, Amount: p.Credits, Source: "stripe",
		Reference: p.ID, IdempotencyKey: grantKey(s.ID), Reason: pkg.Name,
	}, func(ctx context.Context, tx *groupcommit.Tx, e credits.Entry) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE purchases SET status = 'paid', checkout_session_id = ?, payment_intent_id = ?, journal_id = ?,
			 credits = ?, paid_at = ?, updated_at = ? WHERE id = ?`,
			s.ID, s.PaymentIntentID, e.ID, e.Amount, e.CreatedAt, e.CreatedAt, p.ID)
		if err != nil {
			return fmt.Errorf("mark the purchase paid: %w", err)
		}
		return b.queue(ctx, tx, confirmation)
	})
	switch {
	case errors.Is(err, credits.ErrKeyReused):
		// The session was granted under its key for other credits: the
		// package changed since. It is granted all the same.
		return AlreadyGranted, nil
	case err != nil:
		return "", fmt.Errorf("grant the credits of purchase %s: %w", p.ID, err)
	case res.Replayed:
		return AlreadyGranted, nil
	}
	b.logger.InfoContext(ctx, "credits purchased", slog.String("purchase", p.ID), slog.String("user", p.UserID),
		slog.Int64("credits", p.Credits), slog.String("session", s.ID))
	return Granted, nil
}
