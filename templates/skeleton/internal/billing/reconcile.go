package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

// ReconcileAfter is how long a purchase may stay pending before the
// reconciler asks Stripe about it: by then the webhook, retries included,
// has normally settled it, so what is left lost its event (an endpoint
// that was down or misconfigured).
const ReconcileAfter = time.Hour

// sessionLifetime is how long Stripe keeps a checkout session open by
// default; a purchase whose session id was never stored is given up once
// any session it had must have expired. Were it paid after all, its
// webhook would still grant it: Fulfill grants a paid session whatever
// its purchase's mark.
const sessionLifetime = 24 * time.Hour

// reconcileBatch bounds one run. Each visit touches the purchase's
// updated_at and a run takes the least recently visited first, so the
// next run takes the rest, even when the first ones stay pending (open,
// refused, or Stripe failing on them).
const reconcileBatch = 100

// jobReconcile is the periodic job that runs Reconcile.
const jobReconcile = "billing.reconcile"

// Reconciled counts what one Reconcile did.
type Reconciled struct {
	Granted, Expired, StillOpen, Refused int
}

// Reconcile settles purchases left pending past ReconcileAfter: it
// retrieves each one's session, grants a paid one through Fulfill, and
// marks an expired one (or one Stripe has no longer) expired; an open one (or one whose delayed payment
// is still on its way) is left for later. A purchase that never got its
// session id is marked expired once its session must have expired. Errors
// are logged, the other purchases still done, and returned together for
// the job to retry.
func (b *Billing) Reconcile(ctx context.Context) (Reconciled, error) {
	var done Reconciled
	now := b.now()
	rows, err := b.db.QueryContext(ctx, selectPurchase+" WHERE status = 'pending' AND created_at < ? ORDER BY updated_at, id LIMIT ?",
		now.Add(-ReconcileAfter), reconcileBatch)
	if err != nil {
		return done, fmt.Errorf("list the pending purchases: %w", err)
	}
	var pending []Purchase
	for rows.Next() {
		p, err := scanPurchase(rows)
		if err != nil {
			rows.Close()
			return done, err
		}
		pending = append(pending, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return done, fmt.Errorf("list the pending purchases: %w", err)
	}
	var problems []error
	for _, p := range pending {
		if err := b.reconcile(ctx, p, now, &done); err != nil {
			b.logger.ErrorContext(ctx, "reconcile a pending purchase", "purchase", p.ID, "err", err)
			problems = append(problems, err)
		}
	}
	if len(pending) > 0 {
		b.logger.InfoContext(ctx, "pending purchases reconciled", "granted", done.Granted, "expired", done.Expired,
			"still_open", done.StillOpen, "refused", done.Refused, "failed", len(problems))
	}
	return done, errors.Join(problems...)
}

func (b *Billing) reconcile(ctx context.Context, p Purchase, now time.Time, done *Reconciled) error {
	if _, err := b.db.ExecContext(ctx, "UPDATE purchases SET updated_at = ? WHERE id = ? AND status = 'pending'", now, p.ID); err != nil {
		return fmt.Errorf("mark purchase %s visited: %w", p.ID, err)
	}
	if p.CheckoutSessionID == "" {
		if now.Sub(p.CreatedAt) < sessionLifetime+ReconcileAfter {
			done.StillOpen++
			return nil
		}
		_, err := b.db.ExecContext(ctx, "UPDATE purchases SET status = 'expired', updated_at = ? WHERE id = ? AND status = 'pending'", now, p.ID)
		if err != nil {
			return fmt.Errorf("mark purchase %s expired: %w", p.ID, err)
		}
		done.Expired++
		return nil
	}
	s, err := b.stripe.CheckoutSession(ctx, p.CheckoutSessionID)
	// A session Stripe does not have was never paid: the fake checkout
	// forgets its sessions on a restart, and Stripe deletes none it took
	// money for.
	missing := errors.Is(err, ErrStripeNoSuchObject)
	if err != nil && !missing {
		return err
	}
	switch {
	case !missing && s.PaymentStatus == PaymentPaid:
		outcome, err := b.Fulfill(ctx, s.ID)
		if err != nil {
			return err
		}
		switch outcome {
		case Granted:
			done.Granted++
		case Refused:
			done.Refused++
		}
	case missing || s.Status == SessionExpired:
		if err := b.settle(ctx, p.CheckoutSessionID, StatusExpired); err != nil {
			return err
		}
		done.Expired++
	default:
		done.StillOpen++
	}
	return nil
}

// reconcileEvery is how often the reconciler runs.
const reconcileEvery = 15 * time.Minute

func (b *Billing) registerReconcile() {
	b.jobs.Every(jobs.Periodic{Kind: jobReconcile, Every: reconcileEvery}, func(ctx context.Context, _ time.Time) error {
		_, err := b.Reconcile(ctx)
		return err
	})
}
