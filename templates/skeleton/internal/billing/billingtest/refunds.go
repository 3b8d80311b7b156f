package billingtest

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// Charge implements billing.Stripe.
func (s *Stripe) Charge(_ context.Context, id string) (billing.Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.charges[id]
	if !ok {
		return billing.Charge{}, fmt.Errorf("billingtest: no such charge %q", id)
	}
	read := *ch
	if stale, ok := s.staleRefunded[id]; ok {
		delete(s.staleRefunded, id)
		read.AmountRefunded = stale
	}
	return read, nil
}

// ReadStale makes the next read of the charge say amountRefunded was
// refunded, as a read made before a later refund and answered after it
// does.
func (s *Stripe) ReadStale(chargeID string, amountRefunded int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staleRefunded[chargeID] = amountRefunded
}

// Dispute implements billing.Stripe.
func (s *Stripe) Dispute(_ context.Context, id string) (billing.Dispute, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.disputes[id]
	if !ok {
		return billing.Dispute{}, fmt.Errorf("billingtest: no such dispute %q", id)
	}
	return *d, nil
}

// CreateRefund implements billing.Stripe: one idempotency key gives one
// refund, and no payment is refunded beyond what it paid, as at Stripe,
// which refuses with the errors Stripe's API answers.
func (s *Stripe) CreateRefund(_ context.Context, r billing.NewRefund) (billing.Refund, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refundFailures > 0 {
		s.refundFailures--
		return billing.Refund{}, ErrUnavailable
	}
	if ref, ok := s.refunds[r.IdempotencyKey]; ok {
		if ref.Amount != r.Amount {
			return billing.Refund{}, &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeIdempotency,
				Msg: "Keys for idempotent requests can only be used with the same parameters they were first used with."}
		}
		return ref, nil
	}
	for _, ch := range s.charges {
		if ch.PaymentIntentID != r.PaymentIntentID {
			continue
		}
		if r.Amount <= 0 || ch.AmountRefunded+r.Amount > ch.Amount {
			return billing.Refund{}, &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "amount",
				Msg: fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d).", r.Amount, ch.Amount-ch.AmountRefunded)}
		}
		ch.AmountRefunded += r.Amount
		ref := billing.Refund{ID: "re_test_" + rand.Text(), ChargeID: ch.ID, Amount: r.Amount, Status: "succeeded"}
		s.refunds[r.IdempotencyKey] = ref
		return ref, nil
	}
	return billing.Refund{}, &stripe.Error{HTTPStatusCode: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing,
		Param: "payment_intent", Msg: fmt.Sprintf("No such payment_intent: '%s'", r.PaymentIntentID)}
}

// FailRefunds makes the next n CreateRefund calls fail with
// ErrUnavailable, as when Stripe cannot be reached.
func (s *Stripe) FailRefunds(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refundFailures = n
}

// ChangeCurrency makes the charge, and disputes opened after, say they
// are in currency.
func (s *Stripe) ChangeCurrency(chargeID, currency string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.charges[chargeID].Currency = currency
}

// Refund refunds amount more of the charge, as a refund made in Stripe's
// dashboard does.
func (s *Stripe) Refund(chargeID string, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.charges[chargeID].AmountRefunded += amount
}

// OpenDispute opens a dispute of amount of the charge, its funds
// withdrawn, and returns its id.
func (s *Stripe) OpenDispute(chargeID string, amount int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.charges[chargeID]
	id := "dp_test_" + rand.Text()
	s.disputes[id] = &billing.Dispute{ID: id, ChargeID: ch.ID, PaymentIntentID: ch.PaymentIntentID, Amount: amount,
		Currency: ch.Currency, Status: "needs_response"}
	return id
}

// CloseDispute ends the dispute as status says: "won" reinstates the
// funds, "lost" keeps them withdrawn.
func (s *Stripe) CloseDispute(disputeID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disputes[disputeID].Status = status
}
