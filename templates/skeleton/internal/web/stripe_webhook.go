package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

// maxWebhookBytes bounds a Stripe delivery. An event is a few kilobytes;
// the body is read whole, before verification, so the bound is what an
// unauthenticated sender can make the server hold.
const maxWebhookBytes = 256 << 10

// stripeWebhook receives Stripe's event deliveries, or is nil when
// payments are off.
func (s *server) stripeWebhook() http.Handler {
	if s.Billing == nil {
		return nil
	}
	return handleStripeWebhook(s.Logger, s.Billing)
}

// handleStripeWebhook reads the raw body and hands it to billing, which
// verifies the signature, timestamp and API version before anything is
// parsed or written, records the event and queues its work. The answer
// is fast: 200 once recorded, 400 for a delivery that is not provably
// Stripe's (nothing written), 413 past the size bound, 500 when the event
// could not be recorded (Stripe delivers it again).
func handleStripeWebhook(logger *slog.Logger, b *billing.Billing) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			logger.WarnContext(r.Context(), "stripe webhook refused: body too large", "limit", maxWebhookBytes)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		ev, err := b.Receive(r.Context(), payload, r.Header.Get("Stripe-Signature"))
		if billing.IsSignatureError(err) {
			logger.WarnContext(r.Context(), "stripe webhook refused", "err", err)
			http.Error(w, "the Stripe-Signature header does not verify this delivery", http.StatusBadRequest)
			return
		}
		if err != nil {
			logger.ErrorContext(r.Context(), "stripe webhook: event not recorded", "err", err)
			http.Error(w, "the event could not be recorded; deliver it again", http.StatusInternalServerError)
			return
		}
		logger.InfoContext(r.Context(), "stripe event received", "event", ev.ID, "type", ev.Type, "new", ev.New, "handled", ev.Handled)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
	})
}
