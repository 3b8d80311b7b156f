package billing

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// Product is the Stripe product of a credit package.
type Product struct {
	// ID is empty until Stripe made it.
	ID        string
	PackageID string
	Name      string
	Active    bool
}

// NewPrice is a one-time price of a product.
type NewPrice struct {
	ProductID  string
	UnitAmount int64
	Currency   string
}

// NewWebhookEndpoint is the endpoint Stripe delivers events to.
type NewWebhookEndpoint struct {
	URL    string
	Events []string
}

// WebhookEndpoint is what Stripe answers when it creates an endpoint: the
// signing secret is shown this once.
type WebhookEndpoint struct {
	ID         string
	Secret     string
	APIVersion string
}

// CreateProduct implements Stripe.
func (s *StripeAPI) CreateProduct(ctx context.Context, p Product, idempotencyKey string) (string, error) {
	params := &stripe.ProductParams{Name: stripe.String(p.Name), Active: stripe.Bool(p.Active)}
	params.Context = ctx
	params.AddMetadata("package_id", p.PackageID)
	params.SetIdempotencyKey(idempotencyKey)
	prod, err := s.api.Products.New(params)
	if err != nil {
		return "", stripeError("create a Stripe product", err)
	}
	return prod.ID, nil
}

// UpdateProduct implements Stripe.
func (s *StripeAPI) UpdateProduct(ctx context.Context, p Product) error {
	params := &stripe.ProductParams{Name: stripe.String(p.Name), Active: stripe.Bool(p.Active)}
	params.Context = ctx
	if _, err := s.api.Products.Update(p.ID, params); err != nil {
		return stripeError("update Stripe product "+p.ID, err)
	}
	return nil
}

// CreatePrice implements Stripe.
func (s *StripeAPI) CreatePrice(ctx context.Context, p NewPrice, idempotencyKey string) (string, error) {
	params := &stripe.PriceParams{Product: stripe.String(p.ProductID), UnitAmount: stripe.Int64(p.UnitAmount), Currency: stripe.String(p.Currency)}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey)
	pr, err := s.api.Prices.New(params)
	if err != nil {
		return "", stripeError("create a Stripe price", err)
	}
	return pr.ID, nil
}

// DeactivatePrice implements Stripe.
func (s *StripeAPI) DeactivatePrice(ctx context.Context, id string) error {
	params := &stripe.PriceParams{Active: stripe.Bool(false)}
	params.Context = ctx
	if _, err := s.api.Prices.Update(id, params); err != nil {
		return stripeError("deactivate Stripe price "+id, err)
	}
	return nil
}

// CreateWebhookEndpoint implements Stripe. The endpoint is pinned to the
// API version stripe-go reads: events of any other version would be
// refused by the webhook.
func (s *StripeAPI) CreateWebhookEndpoint(ctx context.Context, e NewWebhookEndpoint) (WebhookEndpoint, error) {
	params := &stripe.WebhookEndpointParams{URL: stripe.String(e.URL), APIVersion: stripe.String(stripe.APIVersion),
		EnabledEvents: stripe.StringSlice(e.Events)}
	params.Context = ctx
	ep, err := s.api.WebhookEndpoints.New(params)
	if err != nil {
		return WebhookEndpoint{}, stripeError("create a Stripe webhook endpoint", err)
	}
	return WebhookEndpoint{ID: ep.ID, Secret: ep.Secret, APIVersion: ep.APIVersion}, nil
}
