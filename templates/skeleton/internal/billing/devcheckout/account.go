package devcheckout

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// What the fake does for the rest of billing.Stripe: the charges of its
// paid sessions and their refunds, kept in memory as its sessions are, so
// that an administrator can try a refund in development too; customers and
// the catalogue, which need nothing kept (billing stores the ids); and no
// disputes or webhook endpoints, which only a Stripe account has.

// ErrNoCharge is the answer for a charge or payment this process did not
// make (one paid before a restart).
var ErrNoCharge = fmt.Errorf("no such fake charge (the development server forgets its payments when it restarts): %w", billing.ErrStripeNoSuchObject)

// charge records the charge of a session Pay paid. It runs with s.mu held.
func (s *Stripe) charge(sess Session) {
	id := "ch_fake_" + rand.Text()
	s.charges[id] = &billing.Charge{ID: id, PaymentIntentID: sess.PaymentIntentID, Amount: sess.AmountTotal, Currency: sess.Currency}
	s.byIntent[sess.PaymentIntentID] = id
}

// Charge implements billing.Stripe.
func (s *Stripe) Charge(_ context.Context, id string) (billing.Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.charges[id]
	if !ok {
		return billing.Charge{}, ErrNoCharge
	}
	return *c, nil
}

// CreateRefund implements billing.Stripe: it refunds the payment's charge
// as Stripe would, once per idempotency key, and never beyond what is
// left of it.
func (s *Stripe) CreateRefund(_ context.Context, r billing.NewRefund) (billing.Refund, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if earlier, again := s.refunds[r.IdempotencyKey]; again {
		return earlier, nil
	}
	c, ok := s.charges[s.byIntent[r.PaymentIntentID]]
	if !ok {
		return billing.Refund{}, ErrNoCharge
	}
	if r.Amount <= 0 || r.Amount > c.Amount-c.AmountRefunded {
		return billing.Refund{}, fmt.Errorf("fake checkout: refund of %d is more than the %d left of charge %s", r.Amount, c.Amount-c.AmountRefunded, c.ID)
	}
	c.AmountRefunded += r.Amount
	refund := billing.Refund{ID: "re_fake_" + rand.Text(), ChargeID: c.ID, Amount: r.Amount, Status: "succeeded"}
	s.refunds[r.IdempotencyKey] = refund
	return refund, nil
}

// Dispute implements billing.Stripe: nobody disputes a fake payment.
func (s *Stripe) Dispute(_ context.Context, id string) (billing.Dispute, error) {
	return billing.Dispute{}, fmt.Errorf("fake checkout: no dispute %s, fake payments are never disputed: %w", id, billing.ErrStripeNoSuchObject)
}

// Customer implements billing.Stripe. The fake keeps no customers, so it
// knows no address.
func (s *Stripe) Customer(_ context.Context, id string) (billing.Customer, error) {
	return billing.Customer{ID: id}, nil
}

// UpdateCustomerEmail implements billing.Stripe: there is no customer to
// change.
func (s *Stripe) UpdateCustomerEmail(context.Context, string, string) error { return nil }

// CreateProduct implements billing.Stripe: a product id for billing to
// record.
func (s *Stripe) CreateProduct(context.Context, billing.Product, string) (string, error) {
	return "prod_fake_" + rand.Text(), nil
}

// UpdateProduct implements billing.Stripe: there is nothing to change.
func (s *Stripe) UpdateProduct(context.Context, billing.Product) error { return nil }

// CreatePrice implements billing.Stripe: a price id for billing to record
// for its package; the fake's sessions read the package through it
// (SellFrom).
func (s *Stripe) CreatePrice(context.Context, billing.NewPrice, string) (string, error) {
	return "price_fake_" + rand.Text(), nil
}

// DeactivatePrice implements billing.Stripe: the price was only an id.
func (s *Stripe) DeactivatePrice(context.Context, string) error { return nil }

// ErrNoEndpoints refuses webhook endpoints: the fake delivers its events
// to the application itself.
var ErrNoEndpoints = errors.New("the development checkout (STRIPE_FAKE=true) delivers its events to this application itself: there is no webhook endpoint to create; set your Stripe keys instead of STRIPE_FAKE to create one")

// CreateWebhookEndpoint implements billing.Stripe.
func (s *Stripe) CreateWebhookEndpoint(context.Context, billing.NewWebhookEndpoint) (billing.WebhookEndpoint, error) {
	return billing.WebhookEndpoint{}, ErrNoEndpoints
}
