package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// shop is an application with payments on, one package for sale and a
// buyer who has started its checkout.
type shop struct {
	*app
	stripe   *billingtest.Stripe
	user     string
	pkg      string
	purchase billing.Purchase
	session  string
	// charge is the charge that paid the session, once paid.
	charge string
}

const packageCredits = 250

func newShop(t testing.TB, dialect database.Dialect) *shop {
	t.Helper()
	return newShopAt(t, dialect, "")
}

// newShopAt is newShop served at baseURL (https gives production cookies,
// for signed-in clients).
func newShopAt(t testing.TB, dialect database.Dialect, baseURL string) *shop {
	t.Helper()
	stripe := billingtest.New()
	a := newApp(t, dialect, options{migrated: true, stripe: stripe, baseURL: baseURL})
	pkg, err := a.billing.AddPackage(context.Background(), billing.Package{Name: "Starter", Credits: packageCredits, UnitAmount: 900,
		Currency: "eur", Active: true, StripePriceID: "price_starter"})
	require.NoError(t, err)
	stripe.AddPrice("price_starter", 900, "eur")
	s := &shop{app: a, stripe: stripe, user: dbtest.NewUser(t, a.db), pkg: pkg.ID}
	s.purchase, s.session = s.checkout(t)
	return s
}

// checkout starts another purchase of the package by the buyer.
func (s *shop) checkout(t testing.TB) (billing.Purchase, string) {
	t.Helper()
	purchase, sess, err := s.billing.Checkout(context.Background(), billing.CheckoutRequest{
		Buyer: billing.Buyer{UserID: s.user, Email: "buyer@example.com", Name: "Buyer"}, PackageID: s.pkg,
		SuccessURL: "http://example.com/credits?session_id={CHECKOUT_SESSION_ID}", CancelURL: "http://example.com/credits",
	})
	require.NoError(t, err)
	return purchase, sess.ID
}

// delivery is a webhook request as Stripe sends it: JSON, signed, no
// cookies, no Origin.
func delivery(payload []byte, signature string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/stripe/webhook", bytes.NewReader(payload))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	if signature != "" {
		r.Header.Set("Stripe-Signature", signature)
	}
	return r
}

// deliver sends the event, signed now with the endpoint's secret, and
// wants 200.
func (s *shop) deliver(t testing.TB, eventID, eventType string) {
	t.Helper()
	s.deliverAbout(t, eventID, eventType, "checkout.session", s.session)
}

func (s *shop) balance(t testing.TB) int64 {
	t.Helper()
	b, err := s.deps.Credits.Ledger.Balance(context.Background(), s.user)
	require.NoError(t, err)
	return b
}

// assertGrantedOnce: exactly one purchase entry of the package's credits,
// the balance is those credits, the purchase is paid and names the entry,
// and the ledger's invariants hold.
func (s *shop) assertGrantedOnce(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	assert.Equal(t, int64(packageCredits), s.balance(t), "balance")
	assert.Equal(t, 1, s.count(t, "credit_journal WHERE user_id = ? AND kind = 'purchase'", s.user), "purchase entries")
	p, err := s.billing.Purchase(ctx, s.purchase.ID)
	require.NoError(t, err)
	assert.Equal(t, billing.StatusPaid, p.Status, "the purchase")
	assert.NotEmpty(t, p.JournalID, "the purchase names its grant")
	problems, err := s.deps.Credits.Ledger.Verify(ctx)
	require.NoError(t, err)
	assert.Empty(t, problems, "ledger invariants")
}

// workWhile runs the job queue on four workers until wait returns and
// the queue has nothing due.
func (s *shop) workWhile(t testing.TB, wait func()) {
	t.Helper()
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for range 4 {
		workers.Go(func() {
			for {
				ran, err := s.jobs.RunOnce(context.Background())
				assert.NoError(t, err)
				select {
				case <-stop:
					if !ran {
						return
					}
				default:
				}
			}
		})
	}
	wait()
	close(stop)
	workers.Wait()
	s.runDueJobs(t)
}

func (s *shop) count(t testing.TB, fromWhere string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+fromWhere, args...).Scan(&n))
	return n
}

func (s *shop) processed(t testing.TB, eventID string) bool {
	t.Helper()
	return s.count(t, "stripe_events WHERE event_id = ? AND processed_at IS NOT NULL", eventID) == 1
}

// TestStripeWebhookConcurrentRedeliveriesGrantOnce: row 30. The same
// signed checkout.session.completed delivered 50 times at once, while
// workers run the queue, gives one grant; every delivery is answered 200.
func TestStripeWebhookConcurrentRedeliveriesGrantOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, d)
			s.stripe.Pay(s.session)
			payload := billingtest.Event("evt_completed", billing.EventCheckoutCompleted, s.session)
			signature := billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())
			const deliveries = 50
			var wg sync.WaitGroup
			statuses := make(chan int, deliveries)
			for range deliveries {
				wg.Go(func() {
					resp, _ := s.do(delivery(payload, signature))
					statuses <- resp.StatusCode
				})
			}
			s.workWhile(t, wg.Wait)
			close(statuses)
			for status := range statuses {
				assert.Equal(t, http.StatusOK, status, "a delivery's answer")
			}
			s.assertGrantedOnce(t)
			assert.Equal(t, 1, s.count(t, "stripe_events"), "the event is recorded once")
			assert.True(t, s.processed(t, "evt_completed"))
		})
	}
}

// TestStripeWebhookCompletedAndAsyncSucceededGrantOnce: row 30. A delayed
// payment completes the session unpaid, then succeeds: the two events
// (in either order) and a late redelivery give one grant.
func TestStripeWebhookCompletedAndAsyncSucceededGrantOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, d)
			s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
			s.runDueJobs(t)
			assert.Zero(t, s.balance(t), "an unpaid completed session grants nothing")
			assert.True(t, s.processed(t, "evt_completed"), "an unpaid session is nothing to retry")

			s.stripe.Pay(s.session)
			s.deliver(t, "evt_async", billing.EventAsyncPaymentSucceeded)
			s.runDueJobs(t)
			s.assertGrantedOnce(t)

			// Stripe's events arrive in any order: a second completed event
			// for the paid session, and the success event again.
			s.deliver(t, "evt_completed_again", billing.EventCheckoutCompleted)
			s.deliver(t, "evt_async", billing.EventAsyncPaymentSucceeded)
			s.runDueJobs(t)
			s.assertGrantedOnce(t)
			assert.True(t, s.processed(t, "evt_completed_again"))
		})
	}
	t.Run("async first", func(t *testing.T) {
		s := newShop(t, database.SQLite)
		s.stripe.Pay(s.session)
		s.deliver(t, "evt_async", billing.EventAsyncPaymentSucceeded)
		s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
		s.runDueJobs(t)
		s.assertGrantedOnce(t)
	})
}

// TestStripeWebhookRetriesFailedGrantOnRedelivery: row 54. When the grant
// fails (Stripe could not be asked for the session), the event is not
// taken for done: Stripe's redelivery runs its work again, and that grants
// once.
func TestStripeWebhookRetriesFailedGrantOnRedelivery(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, d)
			s.stripe.Pay(s.session)
			s.stripe.FailRetrievals(1)
			s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
			s.runDueJobs(t)
			assert.Zero(t, s.balance(t), "the first grant failed")
			assert.False(t, s.processed(t, "evt_completed"), "a failed event is not marked processed")
			assert.Contains(t, s.logs.String(), billingtest.ErrUnavailable.Error(), "the failure is logged")

			s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
			s.runDueJobs(t)
			s.assertGrantedOnce(t)
			assert.True(t, s.processed(t, "evt_completed"))
			assert.Equal(t, 2, s.stripe.Retrievals(), "the redelivery asked Stripe again")

			s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
			s.runDueJobs(t)
			assert.Equal(t, 2, s.stripe.Retrievals(), "a processed event is not worked again")
			s.assertGrantedOnce(t)
		})
	}
}

// TestStripeWebhookGrantsNothingForWhatWeDidNotSell: row 53.
func TestStripeWebhookGrantsNothingForWhatWeDidNotSell(t *testing.T) {
	for _, d := range dbtest.Dialects {
		for name, edit := range map[string]func(c *billing.CheckoutSession){
			"unpaid":         func(c *billing.CheckoutSession) { c.PaymentStatus = billing.PaymentUnpaid },
			"wrong amount":   func(c *billing.CheckoutSession) { c.AmountTotal, c.LineItems[0].AmountTotal = 90, 90 },
			"wrong currency": func(c *billing.CheckoutSession) { c.Currency, c.LineItems[0].Currency = "usd", "usd" },
			"unknown price":  func(c *billing.CheckoutSession) { c.LineItems[0].PriceID = "price_not_ours" },
		} {
			t.Run(fmt.Sprintf("%s/%s", d, name), func(t *testing.T) {
				s := newShop(t, d)
				s.stripe.Pay(s.session)
				s.stripe.Change(s.session, edit)
				s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
				s.runDueJobs(t)
				assert.Zero(t, s.balance(t), "credits granted")
				assert.Zero(t, s.count(t, "credit_journal"), "journal entries")
				p, err := s.billing.Purchase(context.Background(), s.purchase.ID)
				require.NoError(t, err)
				assert.Equal(t, billing.StatusPending, p.Status)
				assert.True(t, s.processed(t, "evt_completed"), "a refusal is final, not retried")
				if name != "unpaid" {
					assert.Contains(t, s.logs.String(), "stripe checkout not fulfilled", "the refusal is logged")
				}
			})
		}
	}
}

// TestStripeWebhookRefusesUnverifiedDeliveries: row 30. A forged
// signature, a stale timestamp, another API version, a tampered body or
// no signature at all: 400, and nothing is written.
func TestStripeWebhookRefusesUnverifiedDeliveries(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, d)
			s.stripe.Pay(s.session)
			event := billingtest.Event("evt_forged", billing.EventCheckoutCompleted, s.session)
			good := billingtest.Sign(event, billingtest.WebhookSecret, time.Now())
			oldVersion := billingtest.EventAtVersion("evt_old", billing.EventCheckoutCompleted, s.session, "2020-08-27")
			tampered := bytes.Replace(event, []byte("evt_forged"), []byte("evt_tamper"), 1)
			tests := map[string]*http.Request{
				"forged signature": delivery(event, billingtest.Sign(event, "whsec_someone_else", time.Now())),
				"stale timestamp": delivery(event, billingtest.Sign(event, billingtest.WebhookSecret,
					time.Now().Add(-billing.Tolerance-time.Minute))),
				"mismatched API version": delivery(oldVersion, billingtest.Sign(oldVersion, billingtest.WebhookSecret, time.Now())),
				"tampered body":          delivery(tampered, good),
				"no signature":           delivery(event, ""),
				"garbled header":         delivery(event, "t=now,v1=zz"),
			}
			for name, r := range tests {
				jobsBefore := s.count(t, "jobs")
				resp, body := s.do(r)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", name, body)
				assert.Zero(t, s.count(t, "stripe_events"), "%s: an event was recorded", name)
				assert.Equal(t, jobsBefore, s.count(t, "jobs"), "%s: a job was queued", name)
			}
			s.runDueJobs(t)
			assert.Zero(t, s.count(t, "credit_journal"), "credits were granted")
			assert.Contains(t, s.logs.String(), "stripe webhook refused", "refusals are logged")
		})
	}
}

// A delivery as large as a form may be is still too large for a webhook:
// refused before verification, nothing written (row 30).
func TestStripeWebhookBodyLimit(t *testing.T) {
	s := newShop(t, database.SQLite)
	payload := []byte(`{"id":"evt_big","padding":"` + strings.Repeat("x", maxWebhookBytes) + `"}`)
	resp, _ := s.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Zero(t, s.count(t, "stripe_events"))
}

// Row 55: the webhook is exempt from cross-origin protection, as the
// route table says: a delivery that looks cross-site to a browser check is judged by
// its signature alone.
func TestStripeWebhookIsExemptFromCrossOriginProtection(t *testing.T) {
	s := newShop(t, database.SQLite)
	for _, signature := range []string{"", "valid"} {
		payload := billingtest.Event("evt_cross", "customer.created", s.session)
		if signature != "" {
			signature = billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())
		}
		r := delivery(payload, signature)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
		resp, _ := s.do(r)
		want := http.StatusOK
		if signature == "" {
			want = http.StatusBadRequest
		}
		assert.Equal(t, want, resp.StatusCode, "signed %v", signature != "")
	}
	r := post("/contact", validForm())
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://evil.example")
	resp, _ := s.do(r)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "other routes keep their protection")
}

func TestStripeWebhookMarksEndedCheckouts(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newShop(t, d)
			s.deliver(t, "evt_failed", billing.EventAsyncPaymentFailed)
			s.runDueJobs(t)
			p, err := s.billing.Purchase(context.Background(), s.purchase.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusFailed, p.Status, "async_payment_failed")

			paid := newShop(t, d)
			paid.stripe.Pay(paid.session)
			paid.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
			paid.runDueJobs(t)
			paid.deliver(t, "evt_expired", billing.EventCheckoutExpired)
			paid.runDueJobs(t)
			paid.assertGrantedOnce(t)

			expired := newShop(t, d)
			expired.deliver(t, "evt_expired", billing.EventCheckoutExpired)
			expired.runDueJobs(t)
			p, err = expired.billing.Purchase(context.Background(), expired.purchase.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusExpired, p.Status, "checkout.session.expired")
			assert.Zero(t, expired.balance(t))
		})
	}
}

func TestStripeWebhookAnswersUnknownEvents(t *testing.T) {
	s := newShop(t, database.SQLite)
	jobsBefore := s.count(t, "jobs")
	s.deliver(t, "evt_customer", "customer.created")
	assert.True(t, s.processed(t, "evt_customer"), "recorded, nothing to do")
	assert.Equal(t, jobsBefore, s.count(t, "jobs"), "no work queued")
	assert.Contains(t, s.logs.String(), "billing does nothing with this type")
}

// With payments off there is no webhook to call (row 55).
func TestStripeWebhookOnlyWhenEnabled(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	payload := billingtest.Event("evt_1", billing.EventCheckoutCompleted, "cs_test_1")
	resp, _ := a.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
