package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// A buyer's new address reaches their Stripe customer through a job:
// Stripe down at the time, the change still commits and the job tries
// again; a customer changed in Stripe is given the account's address
// back, an unchanged one is left alone, and a second change of address
// reaches Stripe as the first did.
func TestStripeCustomerEmailFollowsTheAccount(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShopAt(t, d, "https://example.com")
			c := signUp(t, s.app, "old@example.com", "Barbara")
			u, err := s.acct.Users.ByEmail(ctx, "old@example.com")
			require.NoError(t, err)
			_, sess, err := s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: u.ID, Email: u.Email},
				PackageID: s.purchase.PackageID, SuccessURL: "https://example.com/s?session_id={CHECKOUT_SESSION_ID}"})
			require.NoError(t, err)
			s.stripe.Pay(sess.ID)
			var customer string
			require.NoError(t, s.db.QueryRowContext(ctx, "SELECT customer_id FROM stripe_customers WHERE user_id = ?", u.ID).Scan(&customer))
			require.Equal(t, "old@example.com", s.stripe.CustomerEmail(customer))

			s.stripe.FailCustomerUpdates(1)
			resp, _ := c.post("/settings/email", url.Values{"email": {"new@example.com"}})
			wantRedirect(t, resp, http.StatusSeeOther, "/settings")
			token := s.lastLink(t, "new@example.com", "/email/confirm")
			resp, _ = c.post("/email/confirm", url.Values{"token": {token}})
			wantRedirect(t, resp, http.StatusSeeOther, "/settings")
			s.runDueJobs(t)
			_, err = s.acct.Users.ByEmail(ctx, "new@example.com")
			require.NoError(t, err, "the change committed while Stripe was down")
			assert.Equal(t, "old@example.com", s.stripe.CustomerEmail(customer), "Stripe was down")

			s.clock.Advance(time.Minute)
			s.runDueJobs(t)
			assert.Equal(t, "new@example.com", s.stripe.CustomerEmail(customer), "the job tried again")

			s.stripe.SetCustomerEmail(customer, "elsewhere@example.com")
			s.deliverAbout(t, "evt_customer", billing.EventCustomerUpdated, "customer", customer)
			s.runDueJobs(t)
			assert.Equal(t, "new@example.com", s.stripe.CustomerEmail(customer), "receipts go to the address the user signs in with")

			s.stripe.FailCustomerUpdates(1)
			s.deliverAbout(t, "evt_customer_again", billing.EventCustomerUpdated, "customer", customer)
			s.runDueJobs(t)
			assert.True(t, s.processed(t, "evt_customer_again"), "an unchanged customer needs no update, so the failure was never met")

			// A second change of address reaches Stripe too (the failure
			// the unchanged customer never met is called off first).
			s.stripe.FailCustomerUpdates(0)
			resp, _ = c.post("/settings/email", url.Values{"email": {"third@example.com"}})
			wantRedirect(t, resp, http.StatusSeeOther, "/settings")
			token = s.lastLink(t, "third@example.com", "/email/confirm")
			resp, _ = c.post("/email/confirm", url.Values{"token": {token}})
			wantRedirect(t, resp, http.StatusSeeOther, "/settings")
			s.runDueJobs(t)
			assert.Equal(t, "third@example.com", s.stripe.CustomerEmail(customer), "the second change")

			payload := billingtest.ObjectEvent("evt_stranger", billing.EventCustomerUpdated, "customer", "cus_not_ours", stripe.APIVersion)
			resp, _ = s.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			s.runDueJobs(t)
			assert.True(t, s.processed(t, "evt_stranger"), "another application's customer is nothing to do")
		})
	}
}
