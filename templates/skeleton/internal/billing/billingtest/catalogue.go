package billingtest

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// Catalogue is what the Stripe holds of products and prices, for tests
// of the catalogue sync.
type Catalogue struct {
	Products map[string]billing.Product
	// Prices by id; Active false once deactivated.
	Prices    map[string]Price
	Endpoints []billing.NewWebhookEndpoint
}

// Price is a Stripe price as the test Stripe holds it.
type Price struct {
	billing.NewPrice
	Active bool
}

// Catalogue returns a copy of the products, prices and endpoints made.
func (s *Stripe) Catalogue() Catalogue {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Catalogue{Products: map[string]billing.Product{}, Prices: map[string]Price{}, Endpoints: append([]billing.NewWebhookEndpoint(nil), s.endpoints...)}
	for k, v := range s.products {
		c.Products[k] = v
	}
	for k, v := range s.catalogPrices {
		c.Prices[k] = v
	}
	return c
}

// FailCatalogueCalls makes the next n catalogue calls fail with
// ErrUnavailable, after Stripe did what they asked when made is true (the
// answer lost on the way back).
func (s *Stripe) FailCatalogueCalls(n int, made bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catalogueFailures, s.failAfterMaking = n, made
}

// fail reports the failure the test asked for, if any, and whether the
// call should still take effect.
func (s *Stripe) fail() (apply bool, err error) {
	if s.catalogueFailures == 0 {
		return true, nil
	}
	s.catalogueFailures--
	return s.failAfterMaking, ErrUnavailable
}

// CreateProduct implements billing.Stripe; one idempotency key makes one
// product.
func (s *Stripe) CreateProduct(_ context.Context, p billing.Product, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	apply, err := s.fail()
	id, seen := s.catalogueKeys[key]
	if !seen && apply {
		id = "prod_test_" + rand.Text()
		p.ID = id
		s.products[id] = p
		s.catalogueKeys[key] = id
	}
	return id, err
}

// UpdateProduct implements billing.Stripe.
func (s *Stripe) UpdateProduct(_ context.Context, p billing.Product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	apply, err := s.fail()
	if _, ok := s.products[p.ID]; !ok {
		return fmt.Errorf("billingtest: no such product %q", p.ID)
	}
	if apply {
		s.products[p.ID] = p
	}
	return err
}

// CreatePrice implements billing.Stripe; one idempotency key makes one
// price, which checkout sessions can then sell.
func (s *Stripe) CreatePrice(_ context.Context, p billing.NewPrice, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if then := s.afterPrice; then != nil {
		s.afterPrice = nil
		defer then()
	}
	apply, err := s.fail()
	if _, ok := s.products[p.ProductID]; !ok {
		return "", fmt.Errorf("billingtest: no such product %q", p.ProductID)
	}
	id, seen := s.catalogueKeys[key]
	if !seen && apply {
		id = "price_test_" + rand.Text()
		s.catalogPrices[id] = Price{NewPrice: p, Active: true}
		s.prices[id] = price{p.UnitAmount, p.Currency}
		s.catalogueKeys[key] = id
	}
	return id, err
}

// AfterPriceMade runs then once, after the next CreatePrice has made its
// price and before it answers: what happens while Stripe works.
func (s *Stripe) AfterPriceMade(then func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterPrice = then
}

// DeactivatePrice implements billing.Stripe.
func (s *Stripe) DeactivatePrice(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	apply, err := s.fail()
	p, ok := s.catalogPrices[id]
	if !ok {
		return fmt.Errorf("billingtest: no such price %q", id)
	}
	if apply {
		p.Active = false
		s.catalogPrices[id] = p
	}
	return err
}

// CreateWebhookEndpoint implements billing.Stripe.
func (s *Stripe) CreateWebhookEndpoint(_ context.Context, e billing.NewWebhookEndpoint) (billing.WebhookEndpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints = append(s.endpoints, e)
	return billing.WebhookEndpoint{ID: "we_test_" + rand.Text(), Secret: "whsec_test_" + rand.Text(), APIVersion: "2023-10-16"}, nil
}
