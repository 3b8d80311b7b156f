package devcheckout_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
)

const secret = "whsec_fake_unit"

func newFake() *devcheckout.Stripe {
	f := devcheckout.New("http://localhost:8000/", secret)
	f.SellFrom(func(_ context.Context, priceID string) (billing.Package, error) {
		if priceID != "price_fake_starter" {
			return billing.Package{}, billing.ErrNoPackage
		}
		return devcheckout.Demo("eur")[0], nil
	})
	return f
}

// The pay page is the application's, paying gives an event that verifies
// under the endpoint's secret (signature, timestamp, API version) and
// names the session, and the session then reads as paid.
func TestPayDeliversASignedCompletedEvent(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	sess, err := f.CreateCheckoutSession(ctx, billing.NewCheckout{PriceID: "price_fake_starter", ClientReferenceID: "P1",
		SuccessURL: "http://localhost:8000/credits/purchases/success?session_id={CHECKOUT_SESSION_ID}", IdempotencyKey: "checkout-P1"})
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8000/dev/checkout/"+sess.ID, sess.URL)
	assert.Equal(t, int64(500), sess.AmountTotal, "the catalogue's price")
	again, err := f.CreateCheckoutSession(ctx, billing.NewCheckout{PriceID: "price_fake_starter", IdempotencyKey: "checkout-P1"})
	require.NoError(t, err)
	assert.Equal(t, sess.ID, again.ID, "one idempotency key, one session")

	paid, d, err := f.Pay(sess.ID, time.Now())
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8000/credits/purchases/success?session_id="+sess.ID, paid.SuccessURL)
	ev, err := webhook.ConstructEvent(d.Payload, d.Signature, secret)
	require.NoError(t, err, "the delivery verifies as Stripe's")
	assert.Equal(t, billing.EventCheckoutCompleted, string(ev.Type))
	var object struct{ ID string }
	require.NoError(t, json.Unmarshal(ev.Data.Raw, &object))
	assert.Equal(t, sess.ID, object.ID)
	_, err = webhook.ConstructEvent(d.Payload, d.Signature, "whsec_other")
	assert.Error(t, err, "signed with the endpoint's secret only")

	got, err := f.CheckoutSession(ctx, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, billing.PaymentPaid, got.PaymentStatus)
	assert.NotEmpty(t, got.PaymentIntentID)
	_, err = f.CreateCheckoutSession(ctx, billing.NewCheckout{PriceID: "price_elsewhere", IdempotencyKey: "k"})
	assert.ErrorIs(t, err, billing.ErrNoPackage)
}

// After a restart the fake knows none of its sessions: it answers as
// Stripe does for a session it does not have, so the reconciler gives
// their purchases up, and they cannot be paid.
func TestForgottenSessionsAreMissing(t *testing.T) {
	f := newFake()
	_, err := f.CheckoutSession(context.Background(), "cs_fake_gone")
	assert.ErrorIs(t, err, billing.ErrStripeNoSuchObject)
	assert.ErrorIs(t, err, devcheckout.ErrNoSession)
	_, _, err = f.Pay("cs_fake_gone", time.Now())
	assert.ErrorIs(t, err, devcheckout.ErrNoSession)
}

// A fake payment has a charge that an administrator's refund takes back
// as Stripe's would: once per idempotency key, never more than is left,
// and the charge then says what is refunded.
func TestRefundOfAFakePayment(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	sess, err := f.CreateCheckoutSession(ctx, billing.NewCheckout{PriceID: "price_fake_starter", ClientReferenceID: "P1",
		SuccessURL: "http://localhost:8000/s?session_id={CHECKOUT_SESSION_ID}", IdempotencyKey: "checkout-P1"})
	require.NoError(t, err)
	_, err = f.CreateRefund(ctx, billing.NewRefund{PaymentIntentID: "pi_unpaid", Amount: 100, IdempotencyKey: "r0"})
	require.ErrorIs(t, err, billing.ErrStripeNoSuchObject, "no payment, no refund")

	paid, _, err := f.Pay(sess.ID, time.Now())
	require.NoError(t, err)
	refund, err := f.CreateRefund(ctx, billing.NewRefund{PaymentIntentID: paid.PaymentIntentID, Amount: 200, IdempotencyKey: "r1"})
	require.NoError(t, err)
	again, err := f.CreateRefund(ctx, billing.NewRefund{PaymentIntentID: paid.PaymentIntentID, Amount: 200, IdempotencyKey: "r1"})
	require.NoError(t, err)
	assert.Equal(t, refund, again, "one key, one refund")
	_, err = f.CreateRefund(ctx, billing.NewRefund{PaymentIntentID: paid.PaymentIntentID, Amount: 301, IdempotencyKey: "r2"})
	assert.ErrorContains(t, err, "more than the 300 left", "beyond what is left")

	charge, err := f.Charge(ctx, refund.ChargeID)
	require.NoError(t, err)
	assert.Equal(t, billing.Charge{ID: refund.ChargeID, PaymentIntentID: paid.PaymentIntentID, Amount: 500, AmountRefunded: 200, Currency: "eur"}, charge)
	_, err = f.Dispute(ctx, "dp_1")
	assert.ErrorIs(t, err, billing.ErrStripeNoSuchObject, "fake payments are never disputed")
	_, err = f.CreateWebhookEndpoint(ctx, billing.NewWebhookEndpoint{URL: "http://localhost:8000/stripe/webhook"})
	assert.ErrorIs(t, err, devcheckout.ErrNoEndpoints)
}
