// Package billingtest gives tests a Stripe they control: it keeps the
// checkout sessions it creates, in memory, and says of them what the test
// decides (paid or not, for what price), as stripe-mock, which keeps
// nothing, cannot.
package billingtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// Stripe is a billing.Stripe held in memory.
type Stripe struct {
	mu        sync.Mutex
	prices    map[string]price
	sessions  map[string]billing.CheckoutSession
	customers map[string]string // by idempotency key
	// checkouts are the sessions' ids by idempotency key.
	checkouts map[string]string
	// emails are the customers' addresses, by customer id.
	emails        map[string]string
	emailFailures int
	charges       map[string]*billing.Charge
	// staleRefunded is what the next read of a charge says was refunded.
	staleRefunded map[string]int64
	disputes      map[string]*billing.Dispute
	refunds       map[string]billing.Refund // by idempotency key
	// refundFailures is how many CreateRefund calls fail from now.
	refundFailures int
	// The catalogue: products, prices and what each create's idempotency
	// key made.
	products          map[string]billing.Product
	catalogPrices     map[string]Price
	catalogueKeys     map[string]string
	endpoints         []billing.NewWebhookEndpoint
	catalogueFailures int
	failAfterMaking   bool
	afterPrice        func()
	failures          int
	retrieved         int
	// forgetKeys makes each checkout a new session, whatever its key.
	forgetKeys bool
}

type price struct {
	amount   int64
	currency string
}

// New returns a Stripe with no prices, customers or sessions.
func New() *Stripe {
	return &Stripe{prices: map[string]price{}, sessions: map[string]billing.CheckoutSession{}, customers: map[string]string{},
		checkouts: map[string]string{}, charges: map[string]*billing.Charge{}, staleRefunded: map[string]int64{}, disputes: map[string]*billing.Dispute{}, refunds: map[string]billing.Refund{},
		emails: map[string]string{}, products: map[string]billing.Product{}, catalogPrices: map[string]Price{}, catalogueKeys: map[string]string{}}
}

// ErrUnavailable is what a retrieval fails with after FailRetrievals: a
// billing.ErrStripeUnavailable, as Stripe's 5xx is.
var ErrUnavailable = fmt.Errorf("billingtest: Stripe is unavailable (as the test asked): %w", billing.ErrStripeUnavailable)

// AddPrice makes priceID cost amount (minor units) in currency.
func (s *Stripe) AddPrice(priceID string, amount int64, currency string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prices[priceID] = price{amount, currency}
}

// CreateCustomer implements billing.Stripe; one idempotency key gives one
// customer, as at Stripe.
func (s *Stripe) CreateCustomer(_ context.Context, c billing.NewCustomer) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.customers[c.IdempotencyKey]; ok {
		return id, nil
	}
	id := "cus_test_" + rand.Text()
	s.customers[c.IdempotencyKey] = id
	s.emails[id] = c.Email
	return id, nil
}

// CreateCheckoutSession implements billing.Stripe: an open, unpaid
// session for the price; one idempotency key gives one session, as at
// Stripe.
func (s *Stripe) CreateCheckoutSession(_ context.Context, c billing.NewCheckout) (billing.CheckoutSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.checkouts[c.IdempotencyKey]; ok && !s.forgetKeys {
		return s.sessions[id], nil
	}
	p, ok := s.prices[c.PriceID]
	if !ok {
		return billing.CheckoutSession{}, fmt.Errorf("billingtest: no such price %q", c.PriceID)
	}
	id := "cs_test_" + rand.Text()
	sess := billing.CheckoutSession{
		ID: id, URL: "https://checkout.stripe.test/" + id, Status: billing.SessionOpen, PaymentStatus: billing.PaymentUnpaid,
		ClientReferenceID: c.ClientReferenceID, CustomerID: c.CustomerID, AmountTotal: p.amount, Currency: p.currency,
		LineItems: []billing.LineItem{{PriceID: c.PriceID, Quantity: 1, AmountTotal: p.amount, Currency: p.currency}},
	}
	if !strings.Contains(c.SuccessURL, "{CHECKOUT_SESSION_ID}") {
		return billing.CheckoutSession{}, errors.New("billingtest: the success URL lacks {CHECKOUT_SESSION_ID}")
	}
	s.sessions[id] = sess
	s.checkouts[c.IdempotencyKey] = id
	return sess, nil
}

// CheckoutSession implements billing.Stripe.
func (s *Stripe) CheckoutSession(_ context.Context, id string) (billing.CheckoutSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retrieved++
	if s.failures > 0 {
		s.failures--
		return billing.CheckoutSession{}, ErrUnavailable
	}
	sess, ok := s.sessions[id]
	if !ok {
		return billing.CheckoutSession{}, fmt.Errorf("billingtest: no such checkout session %q: %w", id, billing.ErrStripeNoSuchObject)
	}
	return sess, nil
}

// CreatePortalSession implements billing.Stripe: the portal's address
// names the customer, for the test to check.
func (s *Stripe) CreatePortalSession(_ context.Context, customerID, returnURL string) (string, error) {
	if customerID == "" || returnURL == "" {
		return "", errors.New("billingtest: a portal session needs a customer and a return URL")
	}
	return "https://billing.stripe.test/p/session/" + customerID, nil
}

// Pay marks the session paid, as Stripe does once the money is in, and
// returns the id of the charge that paid it.
func (s *Stripe) Pay(sessionID string) (chargeID string) {
	s.Change(sessionID, func(c *billing.CheckoutSession) {
		c.Status = billing.SessionComplete
		c.PaymentStatus = billing.PaymentPaid
		c.PaymentIntentID = "pi_test_" + rand.Text()
		chargeID = "ch_test_" + rand.Text()
		s.charges[chargeID] = &billing.Charge{ID: chargeID, PaymentIntentID: c.PaymentIntentID, Amount: c.AmountTotal, Currency: c.Currency}
	})
	return chargeID
}

// Change edits what Stripe says of the session.
func (s *Stripe) Change(sessionID string, edit func(*billing.CheckoutSession)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[sessionID]
	if !ok {
		panic("billingtest: no such checkout session " + sessionID)
	}
	edit(&sess)
	s.sessions[sessionID] = sess
}

// ForgetIdempotencyKeys makes every later checkout a new session, even
// for a key already used, as Stripe answers once a key is over 24 hours
// old and the fake checkout after a restart.
func (s *Stripe) ForgetIdempotencyKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetKeys = true
}

// FailRetrievals makes the next n CheckoutSession calls fail with
// ErrUnavailable.
func (s *Stripe) FailRetrievals(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = n
}

// Retrievals is how many CheckoutSession calls there were.
func (s *Stripe) Retrievals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retrieved
}
