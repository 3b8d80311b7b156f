package billing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// TestStripeRefundRequestShapes: row 64. The refund billing asks for
// names the payment intent and the amount, carries the idempotency key
// derived from our purchase row and our ids in its metadata; the charge
// and dispute retrievals read what reversals rely on. stripe-mock answers
// 400 to a request Stripe's API description refuses.
func TestStripeRefundRequestShapes(t *testing.T) {
	mock := startStripeMock(t)
	ctx := context.Background()
	api := billing.NewStripeAPI("sk_test_shapes", mock.URL)

	ref, err := api.CreateRefund(ctx, billing.NewRefund{PaymentIntentID: "pi_1Paid", Amount: 300, PurchaseID: "P1", ActorID: "A1",
		IdempotencyKey: "refund-P1-0-300"})
	require.NoError(t, err, "stripe-mock refused the refund")
	assert.NotEmpty(t, ref.ID)
	assert.NotEmpty(t, ref.ChargeID, "the refunded charge, whose refunds are then read")
	r := mock.last(t, "POST", "/v1/refunds")
	assert.Equal(t, "refund-P1-0-300", r.Header.Get("Idempotency-Key"))
	assert.Equal(t, stripe.APIVersion, r.Header.Get("Stripe-Version"))
	assert.Equal(t, "Bearer sk_test_shapes", r.Header.Get("Authorization"))
	for field, want := range map[string]string{
		"payment_intent": "pi_1Paid", "amount": "300", "metadata[purchase_id]": "P1", "metadata[actor_id]": "A1",
	} {
		assert.Equal(t, want, r.Form.Get(field), "refund %s", field)
	}

	ch, err := api.Charge(ctx, "ch_1Paid")
	require.NoError(t, err, "stripe-mock refused the charge retrieval")
	mock.last(t, "GET", "/v1/charges/ch_1Paid")
	assert.NotEmpty(t, ch.ID)
	assert.Positive(t, ch.Amount, "the amount paid")
	assert.NotEmpty(t, ch.Currency)

	d, err := api.Dispute(ctx, "dp_1Disputed")
	require.NoError(t, err, "stripe-mock refused the dispute retrieval")
	mock.last(t, "GET", "/v1/disputes/dp_1Disputed")
	assert.NotEmpty(t, d.ChargeID)
	assert.Positive(t, d.Amount)
	assert.NotEmpty(t, d.Status)

	_, err = api.Charge(ctx, "")
	require.Error(t, err, "a retrieval that cannot work fails")
}

func TestDisputeFundsWithdrawn(t *testing.T) {
	for status, want := range map[string]bool{
		"needs_response": true, "under_review": true, "lost": true,
		"won": false, "warning_needs_response": false, "warning_under_review": false, "warning_closed": false,
	} {
		assert.Equal(t, want, billing.Dispute{Status: status}.FundsWithdrawn(), status)
	}
}

// TestStripeRefusalKeepsStripesError: row 64. Stripe's refusal comes back
// as Stripe's own error under our words, so billing can tell a refused
// request (4xx) from an outage; the words name the request id, not the
// key.
func TestStripeRefusalKeepsStripesError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Request-Id", "req_refused")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}`))
	}))
	t.Cleanup(srv.Close)
	api := billing.NewStripeAPI("sk_test_refused", srv.URL)
	_, err := api.CreateRefund(context.Background(), billing.NewRefund{PaymentIntentID: "pi_1", Amount: 300, IdempotencyKey: "refund-P1-0"})
	var se *stripe.Error
	require.True(t, errors.As(err, &se), "Stripe's error is kept: %v", err)
	assert.Equal(t, stripe.ErrorTypeIdempotency, se.Type)
	assert.Equal(t, http.StatusBadRequest, se.HTTPStatusCode)
	assert.Equal(t, "create a Stripe refund: Stripe answered 400 (idempotency_error , request req_refused): "+
		"Keys for idempotent requests can only be used with the same parameters they were first used with.", err.Error())
	assert.NotContains(t, err.Error(), "sk_test_refused")
}
