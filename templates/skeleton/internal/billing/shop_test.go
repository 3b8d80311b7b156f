package billing_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// outbox returns the subjects and text bodies queued to the address.
func (s *shop) outbox(t testing.TB, to string) map[string]string {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), "SELECT subject, text_body FROM outbox WHERE to_addr = ?", to)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var subject, body string
		require.NoError(t, rows.Scan(&subject, &body))
		assert.NotContains(t, out, subject, "the email %q is queued twice", subject)
		out[subject] = body
	}
	require.NoError(t, rows.Err())
	return out
}

// A grant queues one confirmation with the receipt link, however many
// calls raced to fulfil the session.
func TestFulfillConfirmsThePurchaseOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			pkg := s.addPackage(t, "price_100", 100, 500, "usd")
			user := dbtest.NewUser(t, s.db)
			purchase, sess := s.checkout(t, user, pkg)
			s.stripe.Pay(sess.ID)
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					_, err := s.billing.Fulfill(context.Background(), sess.ID)
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			mails := s.outbox(t, user+"@example.com")
			require.Len(t, mails, 1, "one confirmation")
			body := mails["Your Acme Test credits are here"]
			assert.Contains(t, body, billingtest.BaseURL+"/credits/purchases/"+purchase.ID, "the receipt link")
			assert.Contains(t, body, "Credits: 100")
			assert.Contains(t, body, "Amount: 5.00 USD")
		})
	}
}

// TestReconcileSettlesStuckPurchases: row 61. A purchase whose events
// never came is settled past the grace period: a paid session granted
// once, an expired one marked expired, an open one left; a purchase
// younger than the grace is not asked about.
func TestReconcileSettlesStuckPurchases(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewFake(time.Now().UTC())
			s := newShopAt(t, dbtest.Open(t, d), billingtest.New(), clk)
			pkg := s.addPackage(t, "price_100", 100, 500, "usd")
			paidBuyer, expiredBuyer, openBuyer := dbtest.NewUser(t, s.db), dbtest.NewUser(t, s.db), dbtest.NewUser(t, s.db)
			paid, paidSession := s.checkout(t, paidBuyer, pkg)
			expired, expiredSession := s.checkout(t, expiredBuyer, pkg)
			open, _ := s.checkout(t, openBuyer, pkg)
			s.stripe.Pay(paidSession.ID)
			s.stripe.Change(expiredSession.ID, func(c *billing.CheckoutSession) { c.Status = billing.SessionExpired })

			done, err := s.billing.Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, billing.Reconciled{}, done, "nothing is asked about within the grace period")
			assert.Zero(t, s.stripe.Retrievals())

			clk.Advance(billing.ReconcileAfter + time.Minute)
			done, err = s.billing.Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, billing.Reconciled{Granted: 1, Expired: 1, StillOpen: 1}, done)
			assertGrantedOnce(t, s.db, s.ledger, paidBuyer, 100)
			for id, want := range map[string]billing.Status{paid.ID: billing.StatusPaid, expired.ID: billing.StatusExpired, open.ID: billing.StatusPending} {
				got, err := s.billing.Purchase(ctx, id)
				require.NoError(t, err)
				assert.Equal(t, want, got.Status)
			}
			assert.Len(t, s.outbox(t, paidBuyer+"@example.com"), 1, "the late grant is confirmed")

			// Stripe unreachable: the error is returned, for the job to retry.
			s.stripe.FailRetrievals(1)
			_, err = s.billing.Reconcile(ctx)
			assert.ErrorIs(t, err, billingtest.ErrUnavailable)
			done, err = s.billing.Reconcile(ctx)
			require.NoError(t, err)
			assert.Equal(t, billing.Reconciled{StillOpen: 1}, done, "a settled purchase is not asked about again")
		})
	}
}

// TestReconcileGivesUpPurchasesWithoutSession: row 61. A purchase whose
// session id was never stored is given up once any session it had has
// expired.
func TestReconcileGivesUpPurchasesWithoutSession(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now().UTC())
	s := newShopAt(t, dbtest.Open(t, database.SQLite), billingtest.New(), clk)
	pkg := s.addPackage(t, "price_100", 100, 500, "usd")
	purchase, _ := s.checkout(t, dbtest.NewUser(t, s.db), pkg)
	_, err := s.db.ExecContext(ctx, "UPDATE purchases SET checkout_session_id = NULL WHERE id = ?", purchase.ID)
	require.NoError(t, err)
	clk.Advance(2 * billing.ReconcileAfter)
	done, err := s.billing.Reconcile(ctx)
	require.NoError(t, err)
	assert.Equal(t, billing.Reconciled{StillOpen: 1}, done, "its session may still be open")
	clk.Advance(25 * time.Hour)
	done, err = s.billing.Reconcile(ctx)
	require.NoError(t, err)
	assert.Equal(t, billing.Reconciled{Expired: 1}, done)
	got, err := s.billing.Purchase(ctx, purchase.ID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusExpired, got.Status)
}

// TestPurchasesAreTheBuyersOwn: row 60. A user reads only their own
// purchases, by id or by session.
func TestPurchasesAreTheBuyersOwn(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			pkg := s.addPackage(t, "price_100", 100, 500, "usd")
			alice, bob := dbtest.NewUser(t, s.db), dbtest.NewUser(t, s.db)
			first, _ := s.checkout(t, alice, pkg)
			second, sess := s.checkout(t, alice, pkg)
			list, err := s.billing.PurchasesOf(ctx, alice)
			require.NoError(t, err)
			require.Len(t, list, 2)
			assert.ElementsMatch(t, []string{first.ID, second.ID}, []string{list[0].ID, list[1].ID})
			none, err := s.billing.PurchasesOf(ctx, bob)
			require.NoError(t, err)
			assert.Empty(t, none)
			_, err = s.billing.PurchaseOf(ctx, bob, first.ID)
			assert.ErrorIs(t, err, billing.ErrNoSuchPurchase)
			_, err = s.billing.PurchaseOfSession(ctx, bob, sess.ID)
			assert.ErrorIs(t, err, billing.ErrNoSuchPurchase)
			got, err := s.billing.PurchaseOfSession(ctx, alice, sess.ID)
			require.NoError(t, err)
			assert.Equal(t, second.ID, got.ID)
		})
	}
}

func TestForSaleListsActiveSyncedPackagesInOrder(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, dbtest.Open(t, database.SQLite), billingtest.New())
	big := s.addPackage(t, "price_big", 1000, 4000, "usd")
	small := s.addPackage(t, "price_small", 100, 500, "usd")
	_, err := s.billing.AddPackage(ctx, billing.Package{Name: "Unsynced", Credits: 5, UnitAmount: 100, Currency: "usd", Active: true})
	require.NoError(t, err)
	old := s.addPackage(t, "price_old", 10, 100, "usd")
	_, err = s.db.ExecContext(ctx, "UPDATE credit_packages SET active = FALSE WHERE id = ?", old.ID)
	require.NoError(t, err)
	list, err := s.billing.ForSale(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{small.ID, big.ID}, []string{list[0].ID, list[1].ID}, "same order: the cheaper first")
}

// TestDoubleClickMakesOnePurchase: row 59. The buy form's one-time key is
// the purchase's id: sent twice, it makes one purchase and one session;
// another buyer, another package or a finished purchase cannot reuse it.
func TestDoubleClickMakesOnePurchase(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			pkg := s.addPackage(t, "price_100", 100, 500, "usd")
			other := s.addPackage(t, "price_200", 200, 900, "usd")
			alice, bob := dbtest.NewUser(t, s.db), dbtest.NewUser(t, s.db)
			key := rand.Text()
			buy := s.buyWithKey
			first, sess, err := buy(alice, pkg, key)
			require.NoError(t, err)
			again, sessAgain, err := buy(alice, pkg, key)
			require.NoError(t, err)
			assert.Equal(t, first.ID, again.ID, "one purchase")
			assert.Equal(t, sess.ID, sessAgain.ID, "one session")
			assert.Equal(t, key, first.ID)
			for name, try := range map[string]func() error{
				"another buyer":   func() error { _, _, err := buy(bob, pkg, key); return err },
				"another package": func() error { _, _, err := buy(alice, other, key); return err },
			} {
				assert.ErrorIs(t, try(), billing.ErrPurchaseKeyUsed, name)
			}
			_, _, err = buy(alice, pkg, "x' OR 1=1")
			assert.ErrorIs(t, err, billing.ErrBadPurchaseKey, "not a key")
			s.stripe.Pay(sess.ID)
			_, err = s.billing.Fulfill(ctx, sess.ID)
			require.NoError(t, err)
			_, _, err = buy(alice, pkg, key)
			assert.ErrorIs(t, err, billing.ErrPurchaseKeyUsed, "a paid purchase's form")
			var n int
			require.NoError(t, s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM purchases").Scan(&n))
			assert.Equal(t, 1, n, "purchases recorded")
		})
	}
}
