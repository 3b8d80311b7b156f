package billing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// StripeAPI says of a failure whether Stripe was unavailable (try again)
// or has no such object, from Stripe's own answers; a refusal of the
// request is neither.
func TestStripeErrorsSayWhatFailed(t *testing.T) {
	answer := func(status int, errType, code string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			// Stripe's own hint, so that the client does not retry.
			w.Header().Set("Stripe-Should-Retry", "false")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"type":%q,"code":%q,"message":"as the test asked"}}`, errType, code)
		}
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, tt := range []struct {
		name        string
		url         string
		unavailable bool
		missing     bool
	}{
		{"server error", serve(t, answer(http.StatusInternalServerError, "api_error", "")), true, false},
		{"rate limited", serve(t, answer(http.StatusTooManyRequests, "invalid_request_error", "rate_limit")), true, false},
		{"no answer", gone.URL, true, false},
		{"no such session", serve(t, answer(http.StatusNotFound, "invalid_request_error", "resource_missing")), false, true},
		{"bad request", serve(t, answer(http.StatusBadRequest, "invalid_request_error", "parameter_unknown")), false, false},
	} {
		_, err := billing.NewStripeAPI("sk_test_errors", tt.url).CheckoutSession(context.Background(), "cs_test_1")
		if !assert.Error(t, err, tt.name) {
			continue
		}
		assert.Equal(t, tt.unavailable, errors.Is(err, billing.ErrStripeUnavailable), "%s: unavailable: %v", tt.name, err)
		assert.Equal(t, tt.missing, errors.Is(err, billing.ErrStripeNoSuchObject), "%s: no such object: %v", tt.name, err)
		assert.Contains(t, err.Error(), "retrieve Stripe checkout session cs_test_1", tt.name)
	}
}

func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
