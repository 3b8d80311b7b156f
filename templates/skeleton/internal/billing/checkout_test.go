package billing_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// storedSession is the session id the purchase's row holds.
func (s *shop) storedSession(t *testing.T, purchaseID string) string {
	t.Helper()
	p, err := s.billing.Purchase(context.Background(), purchaseID)
	require.NoError(t, err)
	return p.CheckoutSessionID
}

// buyWithKey checks out the package for the user with a buy form's key.
func (s *shop) buyWithKey(user string, pkg billing.Package, key string) (billing.Purchase, billing.CheckoutSession, error) {
	return s.billing.Checkout(context.Background(), billing.CheckoutRequest{Buyer: billing.Buyer{UserID: user, Email: user + "@example.com"},
		PackageID: pkg.ID, SuccessURL: successURL, CancelURL: cancelURL, PurchaseID: key})
}

// TestResentFormGoesToTheStoredSession: row 59. When Stripe answers a
// resent buy form with another session than the one stored (its
// idempotency keys last 24 hours; the fake checkout forgets its own on a
// restart), the buyer is sent to the stored session while it is open,
// which is the one fulfilment knows; a closed one is refused, and no
// answer names a session the purchase does not hold.
func TestResentFormGoesToTheStoredSession(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			pkg := s.addPackage(t, "price_100", 100, 500, "usd")
			user := dbtest.NewUser(t, s.db)
			buy := func(key string) (billing.Purchase, billing.CheckoutSession, error) {
				return s.buyWithKey(user, pkg, key)
			}
			key := rand.Text()
			_, first, err := buy(key)
			require.NoError(t, err)
			s.stripe.ForgetIdempotencyKeys()

			p, again, err := buy(key)
			require.NoError(t, err)
			assert.Equal(t, first.ID, again.ID, "the stored session, not Stripe's new one")
			assert.Equal(t, first.URL, again.URL)
			assert.Equal(t, first.ID, p.CheckoutSessionID)
			assert.Equal(t, first.ID, s.storedSession(t, key))

			// Resent at once, before any session is stored: each answer is
			// the session that was stored.
			raced := rand.Text()
			sessions := make([]string, 8)
			var wg sync.WaitGroup
			for i := range sessions {
				wg.Go(func() {
					_, sess, err := buy(raced)
					if assert.NoError(t, err) {
						sessions[i] = sess.ID
					}
				})
			}
			wg.Wait()
			stored := s.storedSession(t, raced)
			require.NotEmpty(t, stored)
			for _, id := range sessions {
				assert.Equal(t, stored, id, "an answer names a session the purchase does not hold")
			}

			s.stripe.FailRetrievals(1)
			_, _, err = buy(raced)
			assert.ErrorIs(t, err, billing.ErrStripeUnavailable, "Stripe not answering is said so")

			s.stripe.Change(first.ID, func(c *billing.CheckoutSession) { c.Status = billing.SessionExpired })
			_, _, err = buy(key)
			assert.ErrorIs(t, err, billing.ErrCheckoutClosed, "an expired session")
			assert.Equal(t, first.ID, s.storedSession(t, key), "the stored session is kept")
			var n int
			require.NoError(t, s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM purchases").Scan(&n))
			assert.Equal(t, 2, n, "purchases recorded")
		})
	}
}
