package web

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// paidShop is a shop whose buyer has paid and been granted the package,
// through the signed webhook; charge is the charge that paid.
func paidShop(t *testing.T, d database.Dialect) (*shop, string) {
	t.Helper()
	s := newShop(t, d)
	charge := s.stripe.Pay(s.session)
	s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
	s.runDueJobs(t)
	s.assertGrantedOnce(t)
	return s, charge
}

// deliverAbout sends a signed event about a charge or dispute and wants 200.
func (s *shop) deliverAbout(t testing.TB, eventID, eventType, object, objectID string) {
	t.Helper()
	payload := billingtest.ObjectEvent(eventID, eventType, object, objectID, stripe.APIVersion)
	resp, body := s.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
	require.Equal(t, http.StatusOK, resp.StatusCode, "delivery of %s %s: %s", eventType, eventID, body)
}

// spend consumes n of the buyer's credits.
func (s *shop) spend(t testing.TB, n int64) {
	t.Helper()
	_, err := s.deps.Credits.Ledger.Consume(context.Background(), credits.Debit{UserID: s.user, Amount: n, Service: "s"})
	require.NoError(t, err)
}

func (s *shop) debt(t testing.TB) int64 {
	t.Helper()
	d, err := s.deps.Credits.Ledger.Debt(context.Background(), s.user)
	require.NoError(t, err)
	return d
}

func (s *shop) assertLedgerSound(t testing.TB) {
	t.Helper()
	problems, err := s.deps.Credits.Ledger.Verify(context.Background())
	require.NoError(t, err)
	assert.Empty(t, problems, "ledger invariants")
}

// assertStands checks the buyer's balance and debt, and that the ledger
// is sound.
func (s *shop) assertStands(t testing.TB, balance, debt int64, why string) {
	t.Helper()
	assert.Equal(t, balance, s.balance(t), "balance: %s", why)
	assert.Equal(t, debt, s.debt(t), "debt: %s", why)
	s.assertLedgerSound(t)
}

// buyAgain checks out and pays a second package, through the webhook.
func (s *shop) buyAgain(t testing.TB, eventID string) {
	t.Helper()
	_, sess, err := s.billing.Checkout(context.Background(), billing.CheckoutRequest{
		Buyer: billing.Buyer{UserID: s.user, Email: "buyer@example.com"}, PackageID: s.purchase.PackageID,
		SuccessURL: "http://example.com/credits?session_id={CHECKOUT_SESSION_ID}", CancelURL: "http://example.com/credits",
	})
	require.NoError(t, err)
	s.stripe.Pay(sess.ID)
	s.deliverAbout(t, eventID, billing.EventCheckoutCompleted, "checkout.session", sess.ID)
	s.runDueJobs(t)
}

// TestStripeRefundsReverseProportionally: row 63. A partial refund takes
// back its share of the credits (300 of 900 paid: 83 of 250, rounded
// down), a redelivery nothing more, a second refund the rest of the
// cumulative amount_refunded, and the purchase ends refunded. The two
// refunds worked at once, the read of the first answering last, says 300
// refunded where 900 is: the claim does not move down.
func TestStripeRefundsReverseProportionally(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, charge := paidShop(t, d)
			s.stripe.Refund(charge, 300)
			s.deliverAbout(t, "evt_refund_1", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.EqualValues(t, packageCredits-83, s.balance(t), "a third refunded")
			s.deliverAbout(t, "evt_refund_1", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.EqualValues(t, packageCredits-83, s.balance(t), "a redelivery moves nothing")
			p, err := s.billing.Purchase(context.Background(), s.purchase.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusPaid, p.Status, "partly refunded is still paid")
			assert.EqualValues(t, 300, p.AmountRefunded)

			s.stripe.Refund(charge, 600)
			s.deliverAbout(t, "evt_refund_2", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.Zero(t, s.balance(t), "all refunded")
			assert.Zero(t, s.debt(t))
			p, err = s.billing.Purchase(context.Background(), s.purchase.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusRefunded, p.Status)
			assert.EqualValues(t, 900, p.AmountRefunded)
			assert.Equal(t, 2, s.count(t, "credit_journal WHERE user_id = ? AND kind = ?", s.user, credits.KindPaymentReversal), "one entry per refund")
			assert.True(t, s.processed(t, "evt_refund_2"))
			s.assertLedgerSound(t)

			s.stripe.ReadStale(charge, 300)
			s.deliverAbout(t, "evt_refund_1_late", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.True(t, s.processed(t, "evt_refund_1_late"))
			assert.Equal(t, 1, s.count(t, "credit_journal WHERE user_id = ? AND kind = ?", s.user, credits.KindPurchase), "the grant, nothing given back")
			p, err = s.billing.Purchase(context.Background(), s.purchase.ID)
			require.NoError(t, err)
			assert.EqualValues(t, 900, p.AmountRefunded)
			s.assertStands(t, 0, 0, "a stale read gives no refunded credits back")
		})
	}
}

// TestStripeRefundAfterSpendingRecordsDebt: row 63. Refunded after most
// credits were spent: the balance goes to zero, never below, the rest is
// a debt shown to the user, and the next purchase pays it first.
func TestStripeRefundAfterSpendingRecordsDebt(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, charge := paidShop(t, d)
			s.spend(t, 200)
			s.stripe.Refund(charge, 900)
			s.deliverAbout(t, "evt_refund", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.Zero(t, s.balance(t), "never below zero")
			assert.EqualValues(t, 200, s.debt(t), "the spent credits are owed")
			s.assertLedgerSound(t)

			s.buyAgain(t, "evt_completed_2")
			assert.EqualValues(t, packageCredits-200, s.balance(t), "the debt was paid first")
			assert.Zero(t, s.debt(t))
			s.assertLedgerSound(t)
		})
	}
}

// TestStripeDisputeWithdrawnThenReinstated: row 63. The funds withdrawn
// take the credits back; reinstated, they come back; worked late, both
// events see the dispute as it ends.
func TestStripeDisputeWithdrawnThenReinstated(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, charge := paidShop(t, d)
			s.spend(t, 50)
			dispute := s.stripe.OpenDispute(charge, 900)
			s.deliverAbout(t, "evt_withdrawn", billing.EventDisputeFundsWithdrawn, "dispute", dispute)
			s.runDueJobs(t)
			assert.Zero(t, s.balance(t), "withdrawn")
			assert.EqualValues(t, 50, s.debt(t), "what was spent is owed")
			s.assertLedgerSound(t)

			s.stripe.CloseDispute(dispute, "won")
			s.deliverAbout(t, "evt_reinstated", billing.EventDisputeFundsReinstated, "dispute", dispute)
			s.deliverAbout(t, "evt_withdrawn", billing.EventDisputeFundsWithdrawn, "dispute", dispute)
			s.runDueJobs(t)
			assert.EqualValues(t, packageCredits-50, s.balance(t), "reinstated, the debt cancelled")
			assert.Zero(t, s.debt(t))
			s.assertLedgerSound(t)

			// A read made before the dispute was won, answered after.
			s.stripe.CloseDispute(dispute, "needs_response")
			s.deliverAbout(t, "evt_withdrawn_late", billing.EventDisputeFundsWithdrawn, "dispute", dispute)
			s.runDueJobs(t)
			assert.True(t, s.processed(t, "evt_withdrawn_late"))
			s.assertStands(t, packageCredits-50, 0, "a dispute won is final: a stale read takes nothing")
		})
	}
}

// TestStripeDisputeWonBeforeItsEventsTakesNothing: row 63. Both events
// worked after the dispute was won: nothing is taken, owed or written for
// the claim.
func TestStripeDisputeWonBeforeItsEventsTakesNothing(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, charge := paidShop(t, d)
			dispute := s.stripe.OpenDispute(charge, 900)
			s.stripe.CloseDispute(dispute, "won")
			s.deliverAbout(t, "evt_reinstated", billing.EventDisputeFundsReinstated, "dispute", dispute)
			s.deliverAbout(t, "evt_withdrawn", billing.EventDisputeFundsWithdrawn, "dispute", dispute)
			s.runDueJobs(t)
			assert.True(t, s.processed(t, "evt_reinstated") && s.processed(t, "evt_withdrawn"))
			assert.Zero(t, s.count(t, "credit_journal WHERE user_id = ? AND reference = ?", s.user, "stripe-dispute-"+dispute),
				"no entries for the claim")
			s.assertGrantedOnce(t)
			s.assertStands(t, packageCredits, 0, "won before its events were worked")
		})
	}
}

// TestStripeRefundEventsConcurrentlyReverseOnce: row 63. The same signed
// charge.refunded delivered 50 times at once, and another event for the
// same refund among them, while workers run the queue: the credits are
// taken back once.
func TestStripeRefundEventsConcurrentlyReverseOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, charge := paidShop(t, d)
			s.spend(t, 100)
			s.stripe.Refund(charge, 900)
			payload := billingtest.ObjectEvent("evt_refund", billing.EventChargeRefunded, "charge", charge, stripe.APIVersion)
			other := billingtest.ObjectEvent("evt_refund_other", billing.EventChargeRefunded, "charge", charge, stripe.APIVersion)
			const deliveries = 50
			var wg sync.WaitGroup
			for i := range deliveries {
				body := payload
				if i%10 == 0 {
					body = other
				}
				wg.Go(func() {
					resp, _ := s.do(delivery(body, billingtest.Sign(body, billingtest.WebhookSecret, time.Now())))
					assert.Equal(t, http.StatusOK, resp.StatusCode)
				})
			}
			s.workWhile(t, wg.Wait)
			assert.Zero(t, s.balance(t))
			assert.EqualValues(t, 100, s.debt(t), "owed once")
			assert.Equal(t, 1, s.count(t, "credit_journal WHERE user_id = ? AND kind = ?", s.user, credits.KindPaymentReversal))
			assert.Equal(t, 1, s.count(t, "credit_debts WHERE user_id = ?", s.user))
			assert.True(t, s.processed(t, "evt_refund") && s.processed(t, "evt_refund_other"))
			s.assertLedgerSound(t)
		})
	}
}

// Row 63: a refund or dispute in another currency than the purchase's
// cannot be shared out: its event fails, stays unprocessed and says why,
// and no credits move.
func TestStripeReversalInAnotherCurrencyStaysUnprocessed(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, charge := paidShop(t, d)
			s.stripe.ChangeCurrency(charge, "usd")
			s.stripe.Refund(charge, 300)
			s.deliverAbout(t, "evt_refund", billing.EventChargeRefunded, "charge", charge)
			dispute := s.stripe.OpenDispute(charge, 900)
			s.deliverAbout(t, "evt_withdrawn", billing.EventDisputeFundsWithdrawn, "dispute", dispute)
			s.runDueJobs(t)
			assert.False(t, s.processed(t, "evt_refund"), "the refund's event stays to be seen")
			assert.False(t, s.processed(t, "evt_withdrawn"), "the dispute's event stays to be seen")
			assert.Contains(t, s.logs.String(), charge+` is in \"usd\" but purchase `+s.purchase.ID+` was paid in \"eur\"`)
			assert.Contains(t, s.logs.String(), dispute+` is in \"usd\"`)
			s.assertStands(t, packageCredits, 0, "no credits moved")
		})
	}
}

// A refund whose event is worked before the purchase is fulfilled is not
// taken for done: it is worked again once the grant has committed.
func TestStripeRefundBeforeFulfillmentIsRetried(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, d)
			charge := s.stripe.Pay(s.session)
			s.stripe.Refund(charge, 900)
			s.deliverAbout(t, "evt_refund", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.False(t, s.processed(t, "evt_refund"), "nothing to reverse yet")
			assert.Contains(t, s.logs.String(), billing.ErrPurchaseNotYetPaid.Error())

			s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
			s.runDueJobs(t)
			s.assertGrantedOnce(t)
			s.deliverAbout(t, "evt_refund", billing.EventChargeRefunded, "charge", charge)
			s.runDueJobs(t)
			assert.Zero(t, s.balance(t), "granted, then reversed")
			assert.True(t, s.processed(t, "evt_refund"))
			s.assertLedgerSound(t)
		})
	}
}
