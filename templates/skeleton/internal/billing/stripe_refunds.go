package billing

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// Charge is what billing reads of a Stripe charge: what was paid, and how
// much of it is refunded so far.
type Charge struct {
	ID              string
	PaymentIntentID string
	// Amount and AmountRefunded are in the currency's minor unit;
	// AmountRefunded is cumulative over all the charge's refunds.
	Amount         int64
	AmountRefunded int64
	Currency       string
}

// Dispute is what billing reads of a Stripe dispute.
type Dispute struct {
	ID              string
	ChargeID        string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          string
}

// FundsWithdrawn reports whether the dispute holds the disputed money:
// from its opening until it is won. An inquiry (warning_*) moves no
// money.
func (d Dispute) FundsWithdrawn() bool {
	switch stripe.DisputeStatus(d.Status) {
	case stripe.DisputeStatusNeedsResponse, stripe.DisputeStatusUnderReview, stripe.DisputeStatusLost:
		return true
	}
	return false
}

// NewRefund is a refund to ask Stripe for.
type NewRefund struct {
	PaymentIntentID string
	// Amount in the currency's minor unit.
	Amount int64
	// PurchaseID and ActorID go into the refund's metadata, for Stripe's
	// dashboard to lead back to us.
	PurchaseID string
	ActorID    string
	// IdempotencyKey makes a repeated request (a double click) one refund.
	IdempotencyKey string
}

// Refund is Stripe's answer to a refund request.
type Refund struct {
	ID       string
	ChargeID string
	Amount   int64
	Status   string
}

// Charge implements Stripe.
func (s *StripeAPI) Charge(ctx context.Context, id string) (Charge, error) {
	params := &stripe.ChargeParams{}
	params.Context = ctx
	ch, err := s.api.Charges.Get(id, params)
	if err != nil {
		return Charge{}, stripeError("retrieve Stripe charge "+id, err)
	}
	out := Charge{ID: ch.ID, Amount: ch.Amount, AmountRefunded: ch.AmountRefunded, Currency: string(ch.Currency)}
	if ch.PaymentIntent != nil {
		out.PaymentIntentID = ch.PaymentIntent.ID
	}
	return out, nil
}

// Dispute implements Stripe.
func (s *StripeAPI) Dispute(ctx context.Context, id string) (Dispute, error) {
	params := &stripe.DisputeParams{}
	params.Context = ctx
	d, err := s.api.Disputes.Get(id, params)
	if err != nil {
		return Dispute{}, stripeError("retrieve Stripe dispute "+id, err)
	}
	out := Dispute{ID: d.ID, Amount: d.Amount, Currency: string(d.Currency), Status: string(d.Status)}
	if d.Charge != nil {
		out.ChargeID = d.Charge.ID
	}
	if d.PaymentIntent != nil {
		out.PaymentIntentID = d.PaymentIntent.ID
	}
	return out, nil
}

// CreateRefund implements Stripe.
func (s *StripeAPI) CreateRefund(ctx context.Context, r NewRefund) (Refund, error) {
	params := &stripe.RefundParams{PaymentIntent: stripe.String(r.PaymentIntentID), Amount: stripe.Int64(r.Amount)}
	params.Context = ctx
	params.AddMetadata("purchase_id", r.PurchaseID)
	params.AddMetadata("actor_id", r.ActorID)
	params.SetIdempotencyKey(r.IdempotencyKey)
	ref, err := s.api.Refunds.New(params)
	if err != nil {
		return Refund{}, stripeError("create a Stripe refund", err)
	}
	out := Refund{ID: ref.ID, Amount: ref.Amount, Status: string(ref.Status)}
	if ref.Charge != nil {
		out.ChargeID = ref.Charge.ID
	}
	return out, nil
}
