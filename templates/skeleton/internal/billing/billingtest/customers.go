package billingtest

import (
	"context"
	"fmt"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// Customer implements billing.Stripe.
func (s *Stripe) Customer(_ context.Context, id string) (billing.Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	email, ok := s.emails[id]
	if !ok {
		return billing.Customer{}, fmt.Errorf("billingtest: no such customer %q", id)
	}
	return billing.Customer{ID: id, Email: email}, nil
}

// UpdateCustomerEmail implements billing.Stripe.
func (s *Stripe) UpdateCustomerEmail(_ context.Context, id, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emailFailures > 0 {
		s.emailFailures--
		return ErrUnavailable
	}
	if _, ok := s.emails[id]; !ok {
		return fmt.Errorf("billingtest: no such customer %q", id)
	}
	s.emails[id] = email
	return nil
}

// FailCustomerUpdates makes the next n UpdateCustomerEmail calls fail
// with ErrUnavailable.
func (s *Stripe) FailCustomerUpdates(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emailFailures = n
}

// SetCustomerEmail changes a customer's email as the customer portal or
// Stripe's dashboard does.
func (s *Stripe) SetCustomerEmail(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emails[id] = email
}

// CustomerEmail is the email Stripe holds for the customer.
func (s *Stripe) CustomerEmail(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emails[id]
}
