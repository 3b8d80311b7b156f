package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

// EventCustomerUpdated: a Stripe customer changed, possibly its email.
const EventCustomerUpdated = "customer.updated"

// jobCustomerEmail gives a user's Stripe customer the user's address.
const jobCustomerEmail = "billing.customer_email"

// Customer is what billing reads of a Stripe customer.
type Customer struct {
	ID    string
	Email string
}

// QueueCustomerEmail, called in the transaction that changes a user's
// address, queues giving their Stripe customer (if they have one) the new
// address: the change commits whatever Stripe's state, and a job that
// fails is retried, so an outage at Stripe only delays it. Each change is
// a job of its own: a job's key stays taken once it is done, so a key per
// user would queue the first change only.
func (b *Billing) QueueCustomerEmail(ctx context.Context, tx *database.Tx, userID string) error {
	_, err := b.jobs.Enqueue(ctx, tx, jobCustomerEmail, "customer-email-"+userID+"-"+rand.Text(), userID, b.now())
	return err
}

// syncCustomerEmail gives the user's Stripe customer the address the user
// signs in with now (read when the job runs, so the last change wins).
func (b *Billing) syncCustomerEmail(ctx context.Context, userID string) error {
	var customerID, email string
	err := b.db.QueryRowContext(ctx,
		"SELECT c.customer_id, u.email FROM stripe_customers c JOIN users u ON u.id = c.user_id WHERE c.user_id = ?", userID).
		Scan(&customerID, &email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no Stripe customer yet: the first purchase creates it with the new address
	}
	if err != nil {
		return fmt.Errorf("read the Stripe customer of %s: %w", userID, err)
	}
	return b.stripe.UpdateCustomerEmail(ctx, customerID, email)
}

// customerUpdated checks an updated customer of ours against the user's
// address: the address the user signs in with is the one receipts go to,
// so a customer whose email differs is given it again. Equal, nothing is
// sent, so our own update's event ends there.
func (b *Billing) customerUpdated(ctx context.Context, customerID string) error {
	var userID, email string
	err := b.db.QueryRowContext(ctx,
		"SELECT c.user_id, u.email FROM stripe_customers c JOIN users u ON u.id = c.user_id WHERE c.customer_id = ?", customerID).
		Scan(&userID, &email)
	if errors.Is(err, sql.ErrNoRows) {
		b.logger.InfoContext(ctx, "stripe customer updated: not one of ours", "customer", customerID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the user of Stripe customer %s: %w", customerID, err)
	}
	c, err := b.stripe.Customer(ctx, customerID)
	if err != nil {
		return err
	}
	if c.Email == email {
		return nil
	}
	b.logger.InfoContext(ctx, "stripe customer's email differs from the account's: giving it the account's", "customer", customerID, "user", userID)
	return b.stripe.UpdateCustomerEmail(ctx, customerID, email)
}

func (b *Billing) registerCustomerJobs() {
	b.jobs.Handle(jobCustomerEmail, func(ctx context.Context, j jobs.Job) error {
		return b.syncCustomerEmail(ctx, j.Payload)
	})
}
