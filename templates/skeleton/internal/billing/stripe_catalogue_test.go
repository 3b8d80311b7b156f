package billing_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// TestStripeCatalogueRequestShapes: row 65. The requests of "stripe sync"
// and "stripe webhook create" are ones Stripe's API description accepts,
// creates carry the idempotency keys given, and the endpoint is pinned to
// stripe-go's API version with the events billing acts on.
func TestStripeCatalogueRequestShapes(t *testing.T) {
	mock := startStripeMock(t)
	ctx := context.Background()
	api := billing.NewStripeAPI("sk_test_shapes", mock.URL)

	prod, err := api.CreateProduct(ctx, billing.Product{PackageID: "K1", Name: "Starter", Active: true}, "product-K1")
	require.NoError(t, err, "stripe-mock refused the product")
	assert.NotEmpty(t, prod)
	r := mock.last(t, "POST", "/v1/products")
	assert.Equal(t, "product-K1", r.Header.Get("Idempotency-Key"))
	assert.Equal(t, "Starter", r.Form.Get("name"))
	assert.Equal(t, "true", r.Form.Get("active"))
	assert.Equal(t, "K1", r.Form.Get("metadata[package_id]"))

	require.NoError(t, api.UpdateProduct(ctx, billing.Product{ID: "prod_1", Name: "Starter+", Active: false}))
	r = mock.last(t, "POST", "/v1/products/prod_1")
	assert.Equal(t, "Starter+", r.Form.Get("name"))
	assert.Equal(t, "false", r.Form.Get("active"))

	price, err := api.CreatePrice(ctx, billing.NewPrice{ProductID: "prod_1", UnitAmount: 800, Currency: "jpy"}, "price-K1-800-jpy")
	require.NoError(t, err, "stripe-mock refused the price")
	assert.NotEmpty(t, price)
	r = mock.last(t, "POST", "/v1/prices")
	assert.Equal(t, "price-K1-800-jpy", r.Header.Get("Idempotency-Key"))
	for field, want := range map[string]string{"product": "prod_1", "unit_amount": "800", "currency": "jpy"} {
		assert.Equal(t, want, r.Form.Get(field), "price %s", field)
	}

	require.NoError(t, api.DeactivatePrice(ctx, "price_old"))
	assert.Equal(t, "false", mock.last(t, "POST", "/v1/prices/price_old").Form.Get("active"))

	ep, err := api.CreateWebhookEndpoint(ctx, billing.NewWebhookEndpoint{URL: "https://example.com/stripe/webhook", Events: billing.WebhookEvents})
	require.NoError(t, err, "stripe-mock refused the endpoint")
	assert.NotEmpty(t, ep.ID)
	r = mock.last(t, "POST", "/v1/webhook_endpoints")
	assert.Equal(t, stripe.APIVersion, r.Form.Get("api_version"), "pinned to the version the webhook verifies")
	assert.Equal(t, "https://example.com/stripe/webhook", r.Form.Get("url"))
	var events []string
	for i := range billing.WebhookEvents {
		events = append(events, r.Form.Get(fmt.Sprintf("enabled_events[%d]", i)))
	}
	assert.Equal(t, billing.WebhookEvents, events, "the events billing acts on")
}

// The customer retrieval and email update that keep a customer's address
// the account's are requests Stripe's API description accepts.
func TestStripeCustomerRequestShapes(t *testing.T) {
	mock := startStripeMock(t)
	ctx := context.Background()
	api := billing.NewStripeAPI("sk_test_shapes", mock.URL)
	c, err := api.Customer(ctx, "cus_1Ours")
	require.NoError(t, err, "stripe-mock refused the retrieval")
	assert.NotEmpty(t, c.ID)
	mock.last(t, "GET", "/v1/customers/cus_1Ours")
	require.NoError(t, api.UpdateCustomerEmail(ctx, "cus_1Ours", "new@example.com"), "stripe-mock refused the update")
	assert.Equal(t, "new@example.com", mock.last(t, "POST", "/v1/customers/cus_1Ours").Form.Get("email"))
}
