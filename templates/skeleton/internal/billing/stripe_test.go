package billing_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging/logtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// TestStripeRequestShapes: row 57. The requests StripeAPI sends, through a
// checkout as billing starts one, are ones Stripe's API description
// accepts (stripe-mock answers 400 to an unknown or malformed parameter),
// and carry what billing relies on: the pinned API version, the secret key
// as a bearer token, idempotency keys derived from our own rows, the
// session's customer, purchase and URLs, and line_items expanded on
// retrieval.
func TestStripeRequestShapes(t *testing.T) {
	mock := startStripeMock(t)
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	api := billing.NewStripeAPI("sk_test_shapes", mock.URL)
	ledger := credits.New(db, clock.System{})
	b := billing.New(billing.Options{DB: db, Ledger: ledger, Stripe: api, Clock: clock.System{},
		Logger: logging.New(&logtest.Buffer{}, "json", slog.LevelDebug), Mail: billingtest.Mail(db, mail.NewOutbox(db, clock.System{}))})
	pkg, err := b.AddPackage(ctx, billing.Package{Name: "Starter", Credits: 100, UnitAmount: 500, Currency: "usd", Active: true,
		StripePriceID: "price_1Starter"})
	require.NoError(t, err)
	user := dbtest.NewUser(t, db)

	purchase, sess, err := b.Checkout(ctx, billing.CheckoutRequest{
		Buyer:     billing.Buyer{UserID: user, Email: "ada@example.com", Name: "Ada Lovelace"},
		PackageID: pkg.ID, SuccessURL: successURL, CancelURL: cancelURL,
	})
	require.NoError(t, err, "stripe-mock refused a request")
	assert.NotEmpty(t, sess.ID, "the session's id")
	assert.NotEmpty(t, sess.URL, "the hosted page's address")

	for _, r := range []recorded{mock.last(t, "POST", "/v1/customers"), mock.last(t, "POST", "/v1/checkout/sessions")} {
		assert.Equal(t, "Bearer sk_test_shapes", r.Header.Get("Authorization"), "%s: the key", r.Path)
		assert.Equal(t, stripe.APIVersion, r.Header.Get("Stripe-Version"), "%s: the pinned API version", r.Path)
	}
	customer := mock.last(t, "POST", "/v1/customers")
	assert.Equal(t, "customer-"+user, customer.Header.Get("Idempotency-Key"), "one customer per user, however often asked")
	assert.Equal(t, "ada@example.com", customer.Form.Get("email"))
	assert.Equal(t, "Ada Lovelace", customer.Form.Get("name"))
	assert.Equal(t, user, customer.Form.Get("metadata[user_id]"))

	checkout := mock.last(t, "POST", "/v1/checkout/sessions")
	assert.Equal(t, "checkout-"+purchase.ID, checkout.Header.Get("Idempotency-Key"), "the key comes from our purchase row")
	for field, want := range map[string]string{
		"mode":                    "payment",
		"client_reference_id":     purchase.ID,
		"line_items[0][price]":    "price_1Starter",
		"line_items[0][quantity]": "1",
		"success_url":             successURL,
		"cancel_url":              cancelURL,
	} {
		assert.Equal(t, want, checkout.Form.Get(field), "checkout session %s", field)
	}
	assert.True(t, strings.HasPrefix(checkout.Form.Get("customer"), "cus_"), "the session names the customer, got %q", checkout.Form.Get("customer"))
	assert.Contains(t, checkout.Form.Get("success_url"), "{CHECKOUT_SESSION_ID}", "Stripe fills in the session's id")

	got, err := api.CheckoutSession(ctx, sess.ID)
	require.NoError(t, err, "stripe-mock refused the retrieval")
	retrieve := mock.last(t, "GET", "/v1/checkout/sessions/"+sess.ID)
	assert.Equal(t, "line_items", retrieve.Form.Get("expand[0]"), "line items are expanded: %v", retrieve.Form)
	assert.NotEmpty(t, got.ID)
	require.NotEmpty(t, got.LineItems, "the expanded line items are read")
	assert.NotEmpty(t, got.LineItems[0].PriceID, "each line item's price")

	_, err = api.CheckoutSession(ctx, "")
	require.Error(t, err, "a retrieval that cannot work fails")

	portal, err := b.Portal(ctx, user, "https://app.example/credits/purchases")
	require.NoError(t, err, "stripe-mock refused the portal session")
	assert.NotEmpty(t, portal, "the portal's address")
	r := mock.last(t, "POST", "/v1/billing_portal/sessions")
	assert.True(t, strings.HasPrefix(r.Form.Get("customer"), "cus_"), "the portal is the buyer's customer's, got %q", r.Form.Get("customer"))
	assert.Equal(t, checkout.Form.Get("customer"), r.Form.Get("customer"), "the portal opens the customer the checkout used")
	assert.Equal(t, "https://app.example/credits/purchases", r.Form.Get("return_url"))
	assert.Equal(t, stripe.APIVersion, r.Header.Get("Stripe-Version"))
	_, err = b.Portal(ctx, dbtest.NewUser(t, db), "https://app.example/credits/purchases")
	assert.ErrorIs(t, err, billing.ErrNoCustomer, "no portal before a first purchase")
}
