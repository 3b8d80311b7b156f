package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// forClockedShops runs test on each database with a shop on a fake clock
// selling one package.
func forClockedShops(t *testing.T, test func(t *testing.T, s *shop, clk *clock.Fake, pkg billing.Package)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			clk := clock.NewFake(time.Now().UTC())
			s := newShopAt(t, dbtest.Open(t, d), billingtest.New(), clk)
			test(t, s, clk, s.addPackage(t, "price_100", 100, 500, "usd"))
		})
	}
}

// TestReconcileReachesPastStuckPurchases: row 61. Purchases that stay
// pending run after run (Stripe failing on them, open sessions) do not
// keep the reconciler from the others: a run takes the least recently
// visited first.
func TestReconcileReachesPastStuckPurchases(t *testing.T) {
	forClockedShops(t, func(t *testing.T, s *shop, clk *clock.Fake, pkg billing.Package) {
		ctx := context.Background()
		stuck := dbtest.NewUser(t, s.db)
		// One run's batch (100) of older purchases, then the paid one.
		const batch = 100
		for range batch {
			s.checkout(t, stuck, pkg)
			clk.Advance(time.Second)
		}
		buyer := dbtest.NewUser(t, s.db)
		_, paid := s.checkout(t, buyer, pkg)
		s.stripe.Pay(paid.ID)
		clk.Advance(2 * billing.ReconcileAfter)

		s.stripe.FailRetrievals(batch)
		done, err := s.billing.Reconcile(ctx)
		assert.ErrorIs(t, err, billing.ErrStripeUnavailable)
		assert.Equal(t, billing.Reconciled{}, done, "the oldest batch failed")
		clk.Advance(time.Minute)
		done, err = s.billing.Reconcile(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, done.Granted, "the next run reaches the purchase the first did not")
		assertGrantedOnce(t, s.db, s.ledger, buyer, 100)
	})
}

// A run counts the paid sessions Fulfill refuses (and logs them), and
// gives up a purchase whose session Stripe does not have.
func TestReconcileCountsRefusedAndMissing(t *testing.T) {
	forClockedShops(t, func(t *testing.T, s *shop, clk *clock.Fake, pkg billing.Package) {
		ctx := context.Background()
		_, odd := s.checkout(t, dbtest.NewUser(t, s.db), pkg)
		s.stripe.Pay(odd.ID)
		s.stripe.Change(odd.ID, func(c *billing.CheckoutSession) { c.AmountTotal, c.LineItems[0].AmountTotal = 1, 1 })
		gone, _ := s.checkout(t, dbtest.NewUser(t, s.db), pkg)
		_, err := s.db.ExecContext(ctx, "UPDATE purchases SET checkout_session_id = 'cs_test_gone' WHERE id = ?", gone.ID)
		require.NoError(t, err)
		clk.Advance(2 * billing.ReconcileAfter)

		done, err := s.billing.Reconcile(ctx)
		require.NoError(t, err)
		assert.Equal(t, billing.Reconciled{Refused: 1, Expired: 1}, done)
		assert.Contains(t, s.logs.String(), `"refused":1`, "the run's log counts the refused")
		got, err := s.billing.Purchase(ctx, gone.ID)
		require.NoError(t, err)
		assert.Equal(t, billing.StatusExpired, got.Status)
	})
}
