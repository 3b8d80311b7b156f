package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// TestFakeCheckoutBuysThroughTheWebhook: row 58. With STRIPE_FAKE the
// buy goes to the application's own pay page; paying there delivers a
// signed checkout.session.completed through the real webhook handler
// (recorded, its job queued, which grants the credits), and the success
// page shows them, granted once. Another user cannot open or pay the session.
func TestFakeCheckoutBuysThroughTheWebhook(t *testing.T) {
	forStores(t, true, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "dev@example.com", "Dev")
		other := signUp(t, s.app, "other@example.com", "Other")
		_, body := buyer.get("/pricing")
		assert.Contains(t, body, "moves no money", "the fake says so")
		_, resp := s.startCheckout(t, buyer)
		session := sessionOf(t, resp, "https://example.com"+devcheckout.PayPath)
		pay := devcheckout.PayPath + session

		resp, body = buyer.get(pay)
		require.Equal(t, http.StatusOK, resp.StatusCode, "pay page:\n%s", body)
		assert.Contains(t, body, "Pay 9.00 EUR")
		assert.Contains(t, body, `href="https://example.com/credits/purchases/cancel"`, "a way out")
		for _, r := range []*http.Request{get(pay), post(pay+"/pay", nil), get(devcheckout.PayPath + "cs_fake_unknown"), post(devcheckout.PayPath+"cs_fake_unknown/pay", nil)} {
			resp, _ := other.do(r)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s by another user", r.Method, r.URL)
		}
		assert.Zero(t, s.count(t, "stripe_events"), "nothing was delivered for another user")

		resp, body = buyer.post(pay+"/pay", url.Values{})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "pay:\n%s", body)
		success := strings.TrimPrefix(resp.Header.Get("Location"), "https://example.com")
		assert.Equal(t, successPath+"?session_id="+session, success)
		assert.Equal(t, 1, s.count(t, "stripe_events WHERE event_id = ? AND type = 'checkout.session.completed'", "evt_fake_"+session),
			"the signed event went through the webhook")
		assert.Contains(t, s.logs.String(), `"msg":"stripe event received"`, "the real handler answered it")

		// The event's job grants, before the success page could.
		s.runDueJobs(t)
		assert.Equal(t, int64(packageCredits), s.balanceOf(t, s.userID(t, "dev@example.com")), "the webhook path granted")
		resp, body = buyer.get(success)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "250 credits are in your account")
		resp, _ = buyer.post(pay+"/pay", url.Values{})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "paying again is a redelivery")
		s.runDueJobs(t)
		assert.Equal(t, int64(packageCredits), s.balanceOf(t, s.userID(t, "dev@example.com")), "granted once")
		_, body = buyer.get(pay)
		assert.Contains(t, body, "This checkout is paid")
	})
}

// A development server forgets its fake sessions when it restarts. The
// success page of one then says it could not confirm (nothing "does not
// match", nothing logged as an error), its buy form resent says the
// checkout is closed, and the reconciler gives the purchase up.
func TestFakeCheckoutForgottenOnRestart(t *testing.T) {
	forStores(t, true, func(t *testing.T, s *store) {
		buyer := signUp(t, s.app, "restart@example.com", "Restart")
		key, resp := s.startCheckout(t, buyer)
		session := sessionOf(t, resp, "https://example.com"+devcheckout.PayPath)
		restarted := newApp(t, s.db.Dialect(), options{db: s.db, baseURL: "https://example.com", fake: true})
		buyer.app = restarted

		resp, body := buyer.get(successPath + "?session_id=" + session)
		require.Equal(t, http.StatusOK, resp.StatusCode, "success page:\n%s", body)
		assert.NotContains(t, body, "does not match your order")
		assert.Contains(t, body, "could not confirm your payment")
		assert.NotContains(t, restarted.logs.String(), `"level":"ERROR"`)
		resp, body = buyer.get(devcheckout.PayPath + session)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "pay page:\n%s", body)
		resp, body = buyer.post(buyPath+"/"+s.pkg.ID, url.Values{"key": {key}})
		assert.Equal(t, http.StatusConflict, resp.StatusCode, "resent form:\n%s", body)
		assert.Contains(t, body, "This checkout is closed")

		restarted.clock.Advance(2 * billing.ReconcileAfter)
		done, err := restarted.billing.Reconcile(context.Background())
		require.NoError(t, err)
		assert.Equal(t, billing.Reconciled{Expired: 1}, done)
		_, body = buyer.get(successPath + "?session_id=" + session)
		assert.Contains(t, body, "This checkout expired before it was paid")
	})
}

// TestFakeCheckoutAbsentWithRealStripe: row 58. Without STRIPE_FAKE (which
// configuration refuses in production) the pay page and its forged "pay"
// do not exist.
func TestFakeCheckoutAbsentWithRealStripe(t *testing.T) {
	s := newStore(t, database.SQLite, false)
	buyer := signUp(t, s.app, "real@example.com", "Real")
	_, resp := s.startCheckout(t, buyer)
	session := sessionOf(t, resp, "https://checkout.stripe.test/")
	s.stripe.Pay(session)
	for _, r := range []*http.Request{get(devcheckout.PayPath + session), post(devcheckout.PayPath+session+"/pay", nil)} {
		resp, _ := buyer.do(r)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s", r.Method, r.URL)
	}
	assert.Zero(t, s.count(t, "stripe_events"), "an event was delivered")
	assert.Zero(t, s.count(t, "credit_journal"), "credits were granted")
}

// Row 58: the web layer itself refuses to serve the fake checkout
// outside development, whatever built its Deps.
func TestFakeCheckoutRefusedOutsideDevelopment(t *testing.T) {
	a := newApp(t, database.SQLite, options{migrated: true, fake: true})
	deps := a.deps
	deps.Config.Development = false
	_, err := NewServer(deps)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "STRIPE_FAKE")
	deps.DevCheckout = nil
	_, err = NewServer(deps)
	assert.NoError(t, err, "production without the fake")
}

// Row 58: another site cannot pay a signed-in user's fake checkout.
func TestFakeCheckoutRefusesCrossSitePay(t *testing.T) {
	s := newStore(t, database.SQLite, true)
	buyer := signUp(t, s.app, "csrf@example.com", "Csrf")
	_, resp := s.startCheckout(t, buyer)
	pay := devcheckout.PayPath + sessionOf(t, resp, "https://example.com"+devcheckout.PayPath) + "/pay"
	assertCrossSiteRefused(t, buyer, pay, nil)
	assert.Zero(t, s.count(t, "stripe_events"), "a cross-site pay delivered an event")
	assert.Zero(t, s.balanceOf(t, s.userID(t, "csrf@example.com")))
}
