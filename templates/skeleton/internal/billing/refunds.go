package billing

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
)

// The Stripe events that undo (part of) a payment, and their end.
const (
	EventChargeRefunded         = "charge.refunded"
	EventDisputeFundsWithdrawn  = "charge.dispute.funds_withdrawn"
	EventDisputeFundsReinstated = "charge.dispute.funds_reinstated"
)

// The ledger claims of a charge's refunds and of a dispute: each stands at
// the credits its money takes back, however many events tell of it.
func refundClaim(chargeID string) string   { return "stripe-refund-" + chargeID }
func disputeClaim(disputeID string) string { return "stripe-dispute-" + disputeID }

// share is credits × part / whole, rounded down (a user never loses more
// than the refunded share) and at most credits; big, since credits ×
// part may exceed int64.
func share(credits, part, whole int64) int64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(credits), big.NewInt(part))
	n.Quo(n, big.NewInt(whole))
	if !n.IsInt64() || n.Int64() > credits {
		return credits
	}
	return n.Int64()
}

// ErrPurchaseNotYetPaid: a payment of ours is refunded or disputed before
// its purchase was fulfilled (Stripe's events come in any order), or the
// payment is not ours. The event's work fails and is retried: by then the
// fulfillment has stored the payment intent.
var ErrPurchaseNotYetPaid = errors.New("no paid purchase has this payment intent (yet): the event is retried once the purchase is fulfilled")

func (b *Billing) purchaseByPaymentIntent(ctx context.Context, paymentIntentID string) (Purchase, error) {
	if paymentIntentID == "" {
		return Purchase{}, ErrPurchaseNotYetPaid
	}
	p, err := b.purchaseWhere(ctx, "payment_intent_id = ?", paymentIntentID)
	if errors.Is(err, ErrNoSuchPurchase) {
		return Purchase{}, fmt.Errorf("payment intent %s: %w", paymentIntentID, ErrPurchaseNotYetPaid)
	}
	return p, err
}

// chargeRefunded takes back the credits of what is refunded of the
// charge. It reads the charge from Stripe rather than from the event, so
// that events read late or out of order all bring the claim to the
// charge's current cumulative amount_refunded, and the ledger moves only
// the difference.
func (b *Billing) chargeRefunded(ctx context.Context, chargeID string) error {
	ch, err := b.stripe.Charge(ctx, chargeID)
	if err != nil {
		return err
	}
	p, err := b.purchaseByPaymentIntent(ctx, ch.PaymentIntentID)
	if err != nil {
		return err
	}
	if err := sameCurrency(ch.ID, ch.Currency, p); err != nil {
		return err
	}
	out, err := b.ledger.Reverse(ctx, credits.Reversal{UserID: p.UserID, Claim: refundClaim(ch.ID),
		Total: share(p.Credits, ch.AmountRefunded, ch.Amount), Grant: p.JournalID, NeverLower: true, Reason: "refund of purchase " + p.ID})
	if err != nil {
		return err
	}
	if _, err := b.db.ExecContext(ctx,
		`UPDATE purchases SET amount_refunded = ?, status = CASE WHEN ? THEN 'refunded' ELSE status END, updated_at = ?
		 WHERE id = ? AND amount_refunded <= ?`,
		ch.AmountRefunded, ch.AmountRefunded >= ch.Amount, b.now(), p.ID, ch.AmountRefunded); err != nil {
		return fmt.Errorf("record the refund of purchase %s: %w", p.ID, err)
	}
	b.logReversal(ctx, "refund", p, ch.ID, out)
	return nil
}

// disputeChanged brings the dispute's claim to what the dispute holds now:
// its share of the credits while Stripe holds the money, nothing once the
// funds are reinstated. Both events read the dispute from Stripe, so
// whichever order they are worked in, the account ends as the dispute
// stands.
func (b *Billing) disputeChanged(ctx context.Context, disputeID string) error {
	d, err := b.stripe.Dispute(ctx, disputeID)
	if err != nil {
		return err
	}
	if d.PaymentIntentID == "" && d.ChargeID != "" {
		ch, err := b.stripe.Charge(ctx, d.ChargeID)
		if err != nil {
			return err
		}
		d.PaymentIntentID = ch.PaymentIntentID
	}
	p, err := b.purchaseByPaymentIntent(ctx, d.PaymentIntentID)
	if err != nil {
		return err
	}
	if err := sameCurrency(d.ID, d.Currency, p); err != nil {
		return err
	}
	var total int64
	if d.FundsWithdrawn() {
		total = share(p.Credits, d.Amount, p.Amount)
	}
	out, err := b.ledger.Reverse(ctx, credits.Reversal{UserID: p.UserID, Claim: disputeClaim(d.ID), Total: total, Grant: p.JournalID, FinalOnceLowered: true,
		Reason: fmt.Sprintf("dispute of purchase %s (%s)", p.ID, d.Status)})
	if err != nil {
		return err
	}
	b.logReversal(ctx, "dispute", p, d.ID, out)
	return nil
}

// sameCurrency refuses to reverse a purchase for a Stripe object in
// another currency: its share cannot be worked out, so the event stays
// unprocessed, failing visibly, for someone to look at.
func sameCurrency(object, currency string, p Purchase) error {
	if !strings.EqualFold(currency, p.Currency) {
		return fmt.Errorf("%s is in %q but purchase %s was paid in %q: no credits reversed; reverse them by hand with an adjustment",
			object, currency, p.ID, p.Currency)
	}
	return nil
}

func (b *Billing) logReversal(ctx context.Context, what string, p Purchase, object string, out credits.Reversed) {
	if out == (credits.Reversed{}) {
		return
	}
	b.logger.InfoContext(ctx, "stripe "+what+": credits moved", "purchase", p.ID, "user", p.UserID, "object", object,
		"taken", out.Taken, "owed", out.Owed, "restored", out.Restored)
}

// RefundRequest is an administrator's refund of a purchase.
type RefundRequest struct {
	PurchaseID string
	// Amount in the currency's minor unit; 0 refunds all that is left.
	Amount int64
	// RefundedBefore is what the administrator saw refunded already: a
	// request made on an older view of the purchase is refused, and with
	// the purchase it derives the idempotency key, so one view of the
	// purchase sends at most one refund, whatever amounts its tabs and
	// clicks ask for.
	RefundedBefore int64
	ActorID        string
	Reason         string
}

// RefundRefused says why a refund was not made: the request is at fault,
// not an outage. Refused by us, nothing was sent or written; refused by
// Stripe, the refusal is in the audit log.
type RefundRefused struct{ Reason string }

func (e *RefundRefused) Error() string { return e.Reason }

// ErrStaleRefund refuses a refund asked for on an out-of-date view.
var ErrStaleRefund = &RefundRefused{"the purchase was refunded since this page was loaded: reload it and check what is left to refund"}

// ErrRefundUnderWay refuses a refund asked for on a view of the purchase
// that already sent one, with other parameters (another tab, another
// amount): Stripe refuses the reused idempotency key.
var ErrRefundUnderWay = &RefundRefused{"another refund of this purchase is under way: reload the page in a moment and check what is left to refund"}

// RefundPurchase asks Stripe to refund (part of) a paid purchase and
// records the request, granted or refused, in the audit log. The credits
// come back through the same path as Stripe's charge.refunded event, at
// once when Stripe answers, else when the event arrives.
func (b *Billing) RefundPurchase(ctx context.Context, r RefundRequest) (Refund, error) {
	r.Reason = strings.TrimSpace(r.Reason)
	if r.Reason == "" {
		return Refund{}, &RefundRefused{"a refund needs a reason: say why the money goes back"}
	}
	p, err := b.Purchase(ctx, r.PurchaseID)
	if err != nil {
		return Refund{}, err
	}
	if p.Status != StatusPaid || p.PaymentIntentID == "" {
		return Refund{}, &RefundRefused{fmt.Sprintf("only a paid purchase can be refunded; this one is %s", p.Status)}
	}
	if r.RefundedBefore != p.AmountRefunded {
		return Refund{}, ErrStaleRefund
	}
	left := p.Refundable()
	if r.Amount == 0 {
		r.Amount = left
	}
	if r.Amount < 0 || r.Amount > left {
		return Refund{}, &RefundRefused{fmt.Sprintf("a refund of this purchase is from %s to %s (what is left of it), not %s",
			FormatAmount(1, p.Currency), FormatAmount(left, p.Currency), FormatAmount(r.Amount, p.Currency))}
	}
	ref, err := b.stripe.CreateRefund(ctx, NewRefund{PaymentIntentID: p.PaymentIntentID, Amount: r.Amount, PurchaseID: p.ID,
		ActorID: r.ActorID, IdempotencyKey: fmt.Sprintf("refund-%s-%d", p.ID, r.RefundedBefore)})
	detail := fmt.Sprintf("purchase %s: %d %s of %d: %s", p.ID, r.Amount, p.Currency, p.Amount, r.Reason)
	if err != nil {
		err = refundRefusal(err)
		if aerr := audit.Record(ctx, b.db, audit.Entry{At: b.now(), ActorID: r.ActorID, TargetID: p.UserID,
			Action: "billing.refund_failed", Detail: detail + ": " + err.Error()}); aerr != nil {
			return Refund{}, errors.Join(err, aerr)
		}
		return Refund{}, err
	}
	// The money is on its way back whatever happens next: a missing
	// audit row must not read as Stripe's refusal, nor keep the credits.
	if aerr := audit.Record(ctx, b.db, audit.Entry{At: b.now(), ActorID: r.ActorID, TargetID: p.UserID,
		Action: "billing.refund", Detail: detail + " (Stripe refund " + ref.ID + ")"}); aerr != nil {
		b.logger.ErrorContext(ctx, "refund made, its audit entry not written", "purchase", p.ID, "refund", ref.ID, "actor", r.ActorID, "err", aerr)
	}
	if ref.ChargeID != "" {
		if err := b.chargeRefunded(ctx, ref.ChargeID); err != nil {
			b.logger.WarnContext(ctx, "refund made, credits not yet reversed: the charge.refunded event will", "purchase", p.ID, "err", err)
		}
	}
	return ref, nil
}

// refundRefusal turns Stripe's refusal of a refund request into a
// RefundRefused (answered 4xx); an outage or a 5xx stays as it is.
func refundRefusal(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode < 400 || se.HTTPStatusCode >= 500 {
		return err
	}
	switch se.Type {
	case stripe.ErrorTypeIdempotency:
		return ErrRefundUnderWay
	case stripe.ErrorTypeInvalidRequest:
		return &RefundRefused{"Stripe refused the refund: " + strings.TrimSuffix(se.Msg, ".")}
	}
	return err
}
