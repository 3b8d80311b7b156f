package billingtest

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// WebhookSecret is the signing secret the tests' endpoints use.
const WebhookSecret = "whsec_test_billingtest_secret"

// Event is the JSON of a Stripe event of eventType about the checkout
// session, at stripe-go's API version unless apiVersion says otherwise.
func Event(eventID, eventType, sessionID string) []byte {
	return EventAtVersion(eventID, eventType, sessionID, stripe.APIVersion)
}

// EventAtVersion is Event at another API version.
func EventAtVersion(eventID, eventType, sessionID, apiVersion string) []byte {
	return ObjectEvent(eventID, eventType, "checkout.session", sessionID, apiVersion)
}

// ObjectEvent is the JSON of a Stripe event about any object (a "charge"
// ch_..., a "dispute" dp_...).
func ObjectEvent(eventID, eventType, object, objectID, apiVersion string) []byte {
	b, err := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": eventType, "api_version": apiVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{"id": objectID, "object": object}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns the Stripe-Signature header of payload under secret, as
// Stripe signs a delivery at the time at.
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}
