package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

// The Stripe events billing acts on. Any other event is recorded and
// answered, and nothing else happens.
const (
	EventCheckoutCompleted     = "checkout.session.completed"
	EventAsyncPaymentSucceeded = "checkout.session.async_payment_succeeded"
	EventAsyncPaymentFailed    = "checkout.session.async_payment_failed"
	EventCheckoutExpired       = "checkout.session.expired"
)

func handled(eventType string) bool {
	switch eventType {
	case EventCheckoutCompleted, EventAsyncPaymentSucceeded, EventAsyncPaymentFailed, EventCheckoutExpired,
		EventChargeRefunded, EventDisputeFundsWithdrawn, EventDisputeFundsReinstated, EventCustomerUpdated:
		return true
	}
	return false
}

// Tolerance is how old a delivery's signed timestamp may be: older ones
// are refused as replays.
const Tolerance = webhook.DefaultTolerance

// SignatureError says a delivery is not provably Stripe's, fresh and of
// our API version: it is refused with 400 before anything is read or
// written.
type SignatureError struct{ Err error }

func (e *SignatureError) Error() string { return "refused Stripe delivery: " + e.Err.Error() }
func (e *SignatureError) Unwrap() error { return e.Err }

// Event is a verified Stripe event, as billing recorded it.
type Event struct {
	ID   string
	Type string
	// Handled is false for a type billing does nothing with.
	Handled bool
	// New is false for a redelivery of an event already recorded.
	New bool
}

// jobStripeEvent works one recorded event.
const jobStripeEvent = "billing.stripe_event"

func eventJobKey(eventID string) string { return "stripe-event-" + eventID }

// Receive verifies a webhook delivery, its signature over the raw payload
// under the endpoint's secret, a timestamp within Tolerance and the API
// version stripe-go reads (stripe.APIVersion), before anything in it is
// parsed or stored. A verified event is recorded once, and its work is
// queued on q, in one transaction; a redelivery of an event whose work has
// not succeeded yet makes that work due at once. The work itself (Stripe
// calls, the grant) runs in the job, so that Stripe gets its answer fast.
func (b *Billing) Receive(ctx context.Context, payload []byte, signature string) (Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, signature, b.webhookSecret, webhook.ConstructEventOptions{Tolerance: Tolerance})
	if err != nil {
		return Event{}, &SignatureError{Err: err}
	}
	e := Event{ID: ev.ID, Type: string(ev.Type), Handled: handled(string(ev.Type))}
	now := b.now()
	var processed any
	if !e.Handled {
		processed = now
	}
	err = b.db.InTx(ctx, func(tx *database.Tx) error {
		r, err := tx.ExecContext(ctx,
			`INSERT INTO stripe_events (event_id, type, object_id, livemode, created_at, received_at, processed_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
			ev.ID, e.Type, objectID(ev), ev.Livemode, time.Unix(ev.Created, 0).UTC(), now, processed)
		if err != nil {
			return fmt.Errorf("record Stripe event %s: %w", ev.ID, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("record Stripe event %s: %w", ev.ID, err)
		}
		e.New = n == 1
		if !e.Handled {
			return nil
		}
		added, err := b.jobs.Enqueue(ctx, tx, jobStripeEvent, eventJobKey(ev.ID), ev.ID, now)
		if err != nil || added {
			return err
		}
		_, err = b.jobs.Requeue(ctx, tx, eventJobKey(ev.ID))
		return err
	})
	if err != nil {
		return Event{}, err
	}
	if !e.Handled && e.New {
		b.logger.InfoContext(ctx, "stripe event received and ignored: billing does nothing with this type", "event", e.ID, "type", e.Type)
	}
	return e, nil
}

// objectID is the id of the object an event is about (a checkout
// session's, a charge's, a dispute's or a customer's, for the events
// billing handles).
func objectID(ev stripe.Event) string {
	if ev.Data == nil {
		return ""
	}
	id, _ := ev.Data.Object["id"].(string)
	return id
}

// RegisterJobs puts the work of Stripe events on the queue, and the
// reconciler of pending purchases every quarter of an hour. The handlers
// run under a lease, not in the job's transaction: Fulfill commits its
// own, and is safe to repeat if the process dies mid-way. Call it before
// the queue runs.
func (b *Billing) RegisterJobs() {
	b.jobs.Handle(jobStripeEvent, func(ctx context.Context, j jobs.Job) error {
		return b.work(ctx, j.Payload)
	})
	b.registerReconcile()
	b.registerCustomerJobs()
}

// work does what the event asks and only then marks it processed: an
// event whose work failed is never taken for done.
func (b *Billing) work(ctx context.Context, eventID string) error {
	var eventType, object string
	var processed sql.NullTime
	err := b.db.QueryRowContext(ctx, "SELECT type, object_id, processed_at FROM stripe_events WHERE event_id = ?", eventID).
		Scan(&eventType, &object, &processed)
	if err != nil {
		return fmt.Errorf("read Stripe event %s: %w", eventID, err)
	}
	if processed.Valid {
		return nil
	}
	switch eventType {
	case EventCheckoutCompleted, EventAsyncPaymentSucceeded:
		if _, err := b.Fulfill(ctx, object); err != nil {
			return err
		}
	case EventAsyncPaymentFailed:
		err = b.settle(ctx, object, StatusFailed)
	case EventCheckoutExpired:
		err = b.settle(ctx, object, StatusExpired)
	case EventChargeRefunded:
		err = b.chargeRefunded(ctx, object)
	case EventDisputeFundsWithdrawn, EventDisputeFundsReinstated:
		err = b.disputeChanged(ctx, object)
	case EventCustomerUpdated:
		err = b.customerUpdated(ctx, object)
	}
	if err != nil {
		return err
	}
	if _, err := b.db.ExecContext(ctx, "UPDATE stripe_events SET processed_at = ? WHERE event_id = ? AND processed_at IS NULL",
		b.now(), eventID); err != nil {
		return fmt.Errorf("mark Stripe event %s processed: %w", eventID, err)
	}
	return nil
}

// settle marks the pending purchase of a checkout session that ended
// without payment; a purchase already paid stays paid, whatever order the
// events come in. A failed payment is told to the buyer, with a way to try
// again, in the same transaction.
func (b *Billing) settle(ctx context.Context, sessionID string, status Status) error {
	p, err := b.purchaseWhere(ctx, "checkout_session_id = ?", sessionID)
	if errors.Is(err, ErrNoSuchPurchase) {
		b.logger.InfoContext(ctx, "stripe checkout ended, no purchase of ours has the session", "session", sessionID, "status", string(status))
		return nil
	}
	if err != nil {
		return err
	}
	var notice letter
	if status == StatusFailed && p.Status == StatusPending {
		if notice, err = b.compose(ctx, "payment_failed", p, b.mail.RetryLink, purchaseLines(p)...); err != nil {
			return err
		}
	}
	return b.db.InTx(ctx, func(tx *database.Tx) error {
		r, err := tx.ExecContext(ctx, "UPDATE purchases SET status = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
			status, b.now(), p.ID)
		if err != nil {
			return fmt.Errorf("mark purchase %s %s: %w", p.ID, status, err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			b.logger.InfoContext(ctx, "stripe checkout ended, the purchase is no longer pending", "session", sessionID,
				"purchase", p.ID, "status", string(status))
			return err
		}
		return b.queue(ctx, tx, notice)
	})
}

// IsSignatureError reports whether err refuses a delivery as unverified.
func IsSignatureError(err error) bool {
	var se *SignatureError
	return errors.As(err, &se)
}
