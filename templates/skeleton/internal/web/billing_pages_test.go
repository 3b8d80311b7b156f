package web

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// store is an application selling one package, at https://example.com,
// through a Stripe the test controls (or the fake checkout).
type store struct {
	*app
	stripe *billingtest.Stripe
	pkg    billing.Package
}

func newStore(t *testing.T, d database.Dialect, fake bool) *store {
	t.Helper()
	opts := options{migrated: true, baseURL: "https://example.com", fake: fake}
	var stripe *billingtest.Stripe
	if !fake {
		stripe = billingtest.New()
		opts.stripe = stripe
	}
	a := newApp(t, d, opts)
	price := "price_starter"
	if fake {
		price = devcheckout.Demo("eur")[0].StripePriceID
	}
	pkg, err := a.billing.AddPackage(context.Background(), billing.Package{Name: "Starter", Credits: packageCredits, UnitAmount: 900,
		Currency: "eur", Active: true, StripePriceID: price})
	require.NoError(t, err)
	if stripe != nil {
		stripe.AddPrice(price, 900, "eur")
	}
	return &store{app: a, stripe: stripe, pkg: pkg}
}

// forStores runs test on both databases, in parallel.
func forStores(t *testing.T, fake bool, test func(t *testing.T, s *store)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			test(t, newStore(t, d, fake))
		})
	}
}

var buyKey = regexp.MustCompile(`name="key" value="([A-Z2-7]{26})"`)

// startCheckout opens the buy page and sends its form for the package,
// and returns the form's key and the answer.
func (s *store) startCheckout(t *testing.T, c *client) (string, *http.Response) {
	t.Helper()
	resp, body := c.get(buyPath)
	require.Equal(t, http.StatusOK, resp.StatusCode, "buy page:\n%s", body)
	require.Contains(t, body, `action="/credits/buy/`+s.pkg.ID+`"`, "the buy page has the package's form")
	key := buyKey.FindStringSubmatch(body)
	require.NotNil(t, key, "the buy form has a one-time key")
	resp, body = c.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {key[1]}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "buy = %d:\n%s", resp.StatusCode, body)
	return key[1], resp
}

func (s *store) userID(t *testing.T, email string) string {
	t.Helper()
	u, err := s.acct.Users.ByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}

func (s *store) balanceOf(t *testing.T, userID string) int64 {
	t.Helper()
	b, err := s.deps.Credits.Ledger.Balance(context.Background(), userID)
	require.NoError(t, err)
	return b
}

func (s *store) count(t *testing.T, fromWhere string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+fromWhere, args...).Scan(&n))
	return n
}

// sessionOf is the checkout session a buy redirected to.
func sessionOf(t *testing.T, resp *http.Response, prefix string) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, prefix), "redirect to %q, want %s...", loc, prefix)
	return strings.TrimPrefix(loc, prefix)
}

// The purchase path: pricing, buy (one session for a double click),
// Stripe's page, the success page granting and showing the balance, the
// confirmation email with its receipt, history and receipt.
func TestBuyCredits(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		resp, body := s.client().get("/pricing")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "Starter")
		assert.Contains(t, body, "9.00 EUR", "the price in the currency's units")
		assert.Contains(t, body, `href="/credits/buy"`, "a visitor is sent to the buy page, which signs them in")
		assert.NotContains(t, body, "<form method=\"post\" action=\"/credits/buy/", "no buy form for a visitor")
		resp, _ = s.client().get(buyPath)
		wantRedirect(t, resp, http.StatusSeeOther, "/login")

		buyer := signUp(t, s.app, "buyer@example.com", "Buyer")
		user := s.userID(t, "buyer@example.com")
		_, dash := buyer.get("/dashboard")
		assert.Contains(t, dash, `href="/credits/buy"`, "the dashboard's balance offers more credits")
		_, body = buyer.do(asHTMX(post("/credits/services/word-count/runs", url.Values{"text": {"a b"}, "key": {"run-1"}})))
		assert.Contains(t, body, `<a href="/credits/buy">Buy more credits</a>, then run it again`, "out of credits, the buy page is offered")
		resp, body = buyer.post("/credits/services/word-count/runs", url.Values{"text": {"a b"}, "key": {"run-2"}})
		assert.Equal(t, http.StatusPaymentRequired, resp.StatusCode)
		assert.Contains(t, body, "Buy more credits at /credits/buy")
		key, resp := s.startCheckout(t, buyer)
		session := sessionOf(t, resp, "https://checkout.stripe.test/")
		again, _ := buyer.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {key}})
		assert.Equal(t, resp.Header.Get("Location"), again.Header.Get("Location"), "a double click goes to the same session")
		assert.Equal(t, 1, s.count(t, "purchases"), "one purchase")

		resp, body = buyer.get(successPath + "?session_id=" + session)
		require.Equal(t, http.StatusOK, resp.StatusCode, "success page:\n%s", body)
		assert.Contains(t, body, "Your payment is on its way", "an unpaid session is said to be on its way")
		assert.Zero(t, s.balanceOf(t, user))

		s.stripe.Pay(session)
		asked := s.stripe.Retrievals()
		for range 3 {
			resp, body = buyer.get(successPath + "?session_id=" + session)
			require.Equal(t, http.StatusOK, resp.StatusCode, "success page:\n%s", body)
			assert.Contains(t, body, "250 credits are in your account")
			assert.Contains(t, body, `<span class="stat-value">250</span>`, "the new balance")
		}
		assert.Equal(t, 1, s.stripe.Retrievals()-asked, "Stripe is asked while the purchase is pending, not once it is paid")
		assert.Equal(t, int64(packageCredits), s.balanceOf(t, user), "granted once")
		mails := s.mails(t, "buyer@example.com")
		var confirmations []sentMail
		for _, m := range mails {
			if strings.Contains(m.Subject, "credits are here") {
				confirmations = append(confirmations, m)
			}
		}
		require.Len(t, confirmations, 1, "one confirmation")
		purchases, err := s.billing.PurchasesOf(context.Background(), user)
		require.NoError(t, err)
		require.Len(t, purchases, 1)
		assert.Contains(t, confirmations[0].Text, "/credits/purchases/"+purchases[0].ID, "the receipt link")

		resp, body = buyer.get(purchasesPath)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "9.00 EUR")
		assert.Contains(t, body, "purchase-paid")
		resp, body = buyer.get(purchasesPath + "/" + purchases[0].ID)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, purchases[0].PaymentIntentID, "the receipt names the payment")

		resp, body = buyer.get(cancelPath)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "nothing was charged")
		assert.Contains(t, body, `href="/credits/buy"`, "a way back")
	})
}

// TestSuccessPageGrantsOnlyTheBuyersOwn: row 60. Another user's session,
// or one that is no purchase of ours, is a 404 on the success page and on
// the receipt: nothing is asked of Stripe, nothing granted.
func TestSuccessPageGrantsOnlyTheBuyersOwn(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		alice := signUp(t, s.app, "alice@example.com", "Alice")
		mallory := signUp(t, s.app, "mallory@example.com", "Mallory")
		_, resp := s.startCheckout(t, alice)
		session := sessionOf(t, resp, "https://checkout.stripe.test/")
		s.stripe.Pay(session)
		for _, id := range []string{session, "cs_test_not_ours", "", "' OR 1=1 --"} {
			resp, _ := mallory.get(successPath + "?session_id=" + url.QueryEscape(id))
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "session %q", id)
		}
		assert.Zero(t, s.stripe.Retrievals(), "Stripe was asked about a session that is not the user's")
		assert.Zero(t, s.balanceOf(t, s.userID(t, "mallory@example.com")), "credits granted to another user")
		assert.Zero(t, s.balanceOf(t, s.userID(t, "alice@example.com")), "granted on another user's visit")
		purchases, err := s.billing.PurchasesOf(context.Background(), s.userID(t, "alice@example.com"))
		require.NoError(t, err)
		resp, _ = mallory.get(purchasesPath + "/" + purchases[0].ID)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user's receipt")
		_, body := mallory.get(purchasesPath)
		assert.NotContains(t, body, purchases[0].ID, "another user's purchase in the history")
	})
}

// A delayed payment that fails: the purchase is marked failed, the buyer
// emailed once with a way to try again, and the pages say so.
func TestFailedPaymentGuidesARetry(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "late@example.com", "Late")
		_, resp := s.startCheckout(t, buyer)
		session := sessionOf(t, resp, "https://checkout.stripe.test/")
		for _, event := range []string{"evt_failed", "evt_failed_again"} {
			payload := billingtest.Event(event, billing.EventAsyncPaymentFailed, session)
			resp, body := s.do(delivery(payload, billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())))
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			s.runDueJobs(t)
		}
		_, body := buyer.get(successPath + "?session_id=" + session)
		assert.Contains(t, body, "Your payment did not go through")
		assert.Contains(t, body, `href="/credits/buy">Try again`)
		_, body = buyer.get(purchasesPath)
		assert.Contains(t, body, "purchase-failed")
		assert.Contains(t, body, "try again")
		var failed int
		for _, m := range s.mails(t, "late@example.com") {
			if strings.Contains(m.Subject, "did not go through") {
				failed++
				assert.Contains(t, m.Text, "/credits/buy", "the retry link")
			}
		}
		assert.Equal(t, 1, failed, "one payment-failed email")
	})
}

// TestBuyIsRateLimitedPerUser: row 59. Past the limit a user's checkouts
// are refused with 429 and Retry-After, and no purchase is recorded;
// another user is not held back.
func TestBuyIsRateLimitedPerUser(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		eager := signUp(t, s.app, "eager@example.com", "Eager")
		for range checkoutPerUser.Limit {
			s.startCheckout(t, eager)
		}
		before := s.count(t, "purchases")
		resp, body := eager.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}})
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		assert.Contains(t, body, "Too many checkouts")
		assert.Equal(t, before, s.count(t, "purchases"), "a refused checkout records nothing")
		s.startCheckout(t, signUp(t, s.app, "calm@example.com", "Calm"))
	})
}

// TestBuyRefusesCrossSiteRequests: row 59. Another site cannot start a
// checkout in a signed-in user's name.
func TestBuyRefusesCrossSiteRequests(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "victim@example.com", "Victim")
		assertCrossSiteRefused(t, buyer, buyPath+"/"+s.pkg.ID, url.Values{"key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}})
		assert.Zero(t, s.count(t, "purchases"), "a cross-site request started a checkout")
	})
}

// assertCrossSiteRefused posts form to path as another site would make the
// browser send it, by each of the two signs browsers give, and wants 403.
func assertCrossSiteRefused(t *testing.T, c *client, path string, form url.Values) {
	t.Helper()
	for header, value := range map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"} {
		r := post(path, form)
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Del("Origin")
		r.Header.Set(header, value)
		resp, _ := c.do(r)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s", header, value)
	}
}

func TestBuyExplainsRefusals(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "picky@example.com", "Picky")
		resp, _ := buyer.post(buyPath+"/no-such-package", url.Values{"key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}})
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		_, err := s.db.ExecContext(context.Background(), "UPDATE credit_packages SET active = FALSE")
		require.NoError(t, err)
		resp, body := buyer.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}})
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
		assert.Contains(t, body, "no longer sold")
		assert.Zero(t, s.count(t, "purchases"))
	})
}

// A buy that fails says what failed: a damaged form is the buyer's to
// reload (400), a closed checkout sends them to their payments (409),
// Stripe not answering is a 502 to try again, and anything else (a
// request Stripe refuses, a database failure) is our fault, a 500.
func TestBuyFailuresSayWhatFailed(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "unlucky@example.com", "Unlucky")
		for _, key := range []string{"", "not-a-key", "AAAAAAAAAAAAAAAAAAAAAAAAA1"} {
			resp, body := buyer.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {key}})
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "key %q", key)
			assert.Contains(t, body, "one-time key is damaged or missing", "key %q", key)
		}
		assert.Zero(t, s.count(t, "purchases"), "a damaged form recorded a purchase")

		key, resp := s.startCheckout(t, buyer)
		session := sessionOf(t, resp, "https://checkout.stripe.test/")
		s.stripe.FailRetrievals(1)
		resp, body := buyer.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {key}})
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "resent while Stripe is down")
		assert.Contains(t, body, "did not answer")
		s.stripe.Change(session, func(c *billing.CheckoutSession) { c.Status = billing.SessionExpired })
		resp, body = buyer.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {key}})
		assert.Equal(t, http.StatusConflict, resp.StatusCode, "resent once the session expired")
		assert.Contains(t, body, "This checkout is closed")

		unpriced, err := s.billing.AddPackage(context.Background(), billing.Package{Name: "Unpriced", Credits: 10, UnitAmount: 100,
			Currency: "eur", Active: true, StripePriceID: "price_unknown_to_stripe"})
		require.NoError(t, err)
		resp, body = buyer.post(buyPath+"/"+unpriced.ID, url.Values{"key": {rand.Text()}})
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "a request Stripe refuses")
		assert.NotContains(t, body, "did not answer", "Stripe answered")
		assert.Contains(t, s.logs.String(), "no such price", "the cause is logged")
	})
}

func TestCustomerPortal(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "portal@example.com", "Portal")
		resp, _ := buyer.post("/credits/portal", nil)
		wantRedirect(t, resp, http.StatusSeeOther, purchasesPath)
		_, body := buyer.get(purchasesPath)
		assert.Contains(t, body, "opens after your first purchase")
		assert.NotContains(t, body, `action="/credits/portal"`, "no portal button before a purchase")
		s.startCheckout(t, buyer)
		_, body = buyer.get(purchasesPath)
		assert.Contains(t, body, `action="/credits/portal"`)
		resp, _ = buyer.post("/credits/portal", nil)
		wantRedirect(t, resp, http.StatusSeeOther, "https://billing.stripe.test/p/session/cus_test_")
	})
}

// With payments off the pricing page says so (and, to an admin, what to
// configure), the credit pages send users to an administrator, and the
// buying routes do not exist.
func TestPricingWithPaymentsOff(t *testing.T) {
	a := newApp(t, database.SQLite, options{migrated: true, baseURL: "https://example.com"})
	resp, body := a.client().get("/pricing")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Credits cannot be bought online yet")
	assert.NotContains(t, body, "STRIPE_ENABLED", "configuration is for admins")
	admin := makeAdmin(t, a, "root@example.com")
	_, body = admin.get("/pricing")
	assert.Contains(t, body, "STRIPE_ENABLED=true")
	assert.Contains(t, body, "STRIPE_FAKE=true")
	assert.Contains(t, body, `href="/admin/credits"`, "admins can still grant credits")
	user := signUp(t, a, "nobuy@example.com", "No Buy")
	resp, body = user.get(buyPath)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Credits cannot be bought online yet")
	_, body = user.get("/credits")
	assert.NotContains(t, body, `href="/credits/buy"`)
	for _, r := range []*http.Request{post(buyPath+"/x", nil), get(successPath + "?session_id=cs_1"), get(purchasesPath), post("/credits/portal", nil),
		get(devcheckout.PayPath + "cs_fake_1"), post(devcheckout.PayPath+"cs_fake_1/pay", nil)} {
		resp, _ := user.do(r)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s", r.Method, r.URL)
	}
}

// TestReconcileJobGrantsWhatTheWebhookMissed: row 61. A paid checkout
// whose events never came is granted by the queue's periodic job once the
// grace period is over.
func TestReconcileJobGrantsWhatTheWebhookMissed(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		ctx := context.Background()
		buyer := signUp(t, s.app, "lost@example.com", "Lost")
		_, resp := s.startCheckout(t, buyer)
		s.stripe.Pay(sessionOf(t, resp, "https://checkout.stripe.test/"))
		require.NoError(t, s.jobs.Schedule(ctx))
		s.runDueJobs(t)
		user := s.userID(t, "lost@example.com")
		assert.Zero(t, s.balanceOf(t, user), "within the grace period the webhook has its chance: nothing is asked")
		s.clock.Advance(billing.ReconcileAfter + time.Hour)
		require.NoError(t, s.jobs.Schedule(ctx))
		s.runDueJobs(t)
		assert.Equal(t, int64(packageCredits), s.balanceOf(t, user), "the job granted the lost purchase")
		_, body := buyer.get(purchasesPath)
		assert.Contains(t, body, "purchase-paid")
	})
}

// The success page racing the webhook: buyers reloading the page while
// Stripe delivers the event and the workers run it give one grant and
// one confirmation.
func TestSuccessPageRacingTheWebhookGrantsOnce(t *testing.T) {
	forStores(t, false, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "racer@example.com", "Racer")
		_, resp := s.startCheckout(t, buyer)
		session := sessionOf(t, resp, "https://checkout.stripe.test/")
		s.stripe.Pay(session)
		payload := billingtest.Event("evt_race", billing.EventCheckoutCompleted, session)
		signature := billingtest.Sign(payload, billingtest.WebhookSecret, time.Now())
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				resp, _ := buyer.do(get(successPath + "?session_id=" + session))
				assert.Equal(t, http.StatusOK, resp.StatusCode, "success page")
			})
			wg.Go(func() {
				resp, _ := s.do(delivery(payload, signature))
				assert.Equal(t, http.StatusOK, resp.StatusCode, "delivery")
			})
			wg.Go(func() {
				_, err := s.jobs.RunOnce(context.Background())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		s.runDueJobs(t)
		user := s.userID(t, "racer@example.com")
		assert.Equal(t, int64(packageCredits), s.balanceOf(t, user), "balance")
		assert.Equal(t, 1, s.count(t, "credit_journal WHERE user_id = ? AND kind = 'purchase'", user), "grants")
		assert.Equal(t, 1, s.count(t, "outbox WHERE to_addr = ? AND subject LIKE '%credits are here%'", "racer@example.com"), "confirmations")
	})
}
