package web

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// adminShop is a paid shop served over https, with a signed-in admin.
func adminShop(t *testing.T, d database.Dialect) (*shop, *client) {
	t.Helper()
	s := newShopAt(t, d, "https://example.com")
	s.charge = s.stripe.Pay(s.session)
	s.deliver(t, "evt_completed", billing.EventCheckoutCompleted)
	s.runDueJobs(t)
	s.assertGrantedOnce(t)
	return s, makeAdmin(t, s.app, "admin@example.com")
}

func refundForm(amount, reason string, before int64) url.Values {
	return url.Values{"amount": {amount}, "reason": {reason}, "refunded_before": {strconv.FormatInt(before, 10)}}
}

func TestAdminPaymentsListSearchAndDetail(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, admin := adminShop(t, d)
			other := newShopBuyer(t, s)
			email := s.user + "@example.com"

			resp, body := admin.get("/admin/payments?q=" + url.QueryEscape(strings.ToLower(email[:10])))
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Contains(t, body, "/admin/payments/"+s.purchase.ID)
			assert.NotContains(t, body, "/admin/payments/"+other, "another buyer's payment")
			assert.Contains(t, body, "9.00 EUR")
			assert.Contains(t, body, "Test mode", "test keys are said")

			_, body = admin.get("/admin/payments?status=pending")
			assert.Contains(t, body, "/admin/payments/"+other)
			assert.NotContains(t, body, "/admin/payments/"+s.purchase.ID, "a paid payment among the pending")
			resp, body = admin.get("/admin/payments?status=bogus")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, "use one of pending, paid")

			resp, body = admin.get("/admin/payments/" + s.purchase.ID)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for _, want := range []string{email, "Starter", "250 credits", "Refund through Stripe", `name="refunded_before" value="0"`} {
				assert.Contains(t, body, want)
			}
			resp, _ = admin.get("/admin/payments/no-such-payment")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		})
	}
}

// newShopBuyer starts, and leaves pending, another user's checkout; it
// returns the purchase's id.
func newShopBuyer(t *testing.T, s *shop) string {
	t.Helper()
	p, _, err := s.billing.Checkout(context.Background(), billing.CheckoutRequest{
		Buyer: billing.Buyer{UserID: dbtest.NewUser(t, s.db), Email: "other@example.com"}, PackageID: s.purchase.PackageID,
		SuccessURL: "http://example.com/credits?session_id={CHECKOUT_SESSION_ID}", CancelURL: "http://example.com/credits",
	})
	require.NoError(t, err)
	return p.ID
}

func TestAdminPaymentsSayWhatToConfigureWhenOff(t *testing.T) {
	a := newApp(t, database.SQLite, options{migrated: true, baseURL: "https://example.com"})
	admin := makeAdmin(t, a, "admin@example.com")
	resp, body := admin.get("/admin/payments")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "STRIPE_ENABLED=true")
	resp, _ = admin.get("/admin/payments/any")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no payment pages without payments")
}

// TestAdminRefund: row 64. A partial refund, then the rest, through
// Stripe: each takes its share of the credits back at once, is in the
// audit log with the administrator and the reason, and the same form
// sent again (a double click) refunds once.
func TestAdminRefund(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, admin := adminShop(t, d)
			path := "/admin/payments/" + s.purchase.ID + "/refund"

			resp, body := admin.post(path, refundForm("3", "asked for a third back", 0))
			wantRedirect(t, resp, http.StatusSeeOther, "/admin/payments/"+s.purchase.ID)
			assert.EqualValues(t, packageCredits-83, s.balance(t), "3.00 of 9.00 takes back 83 of 250 credits: %s", body)
			resp, _ = admin.post(path, refundForm("3", "asked for a third back", 0))
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "the same form again")
			assert.EqualValues(t, packageCredits-83, s.balance(t), "refunded once")

			// Five tabs of one browser: the same session, a cookie jar each.
			var wg sync.WaitGroup
			for range 5 {
				tab := &client{app: admin.app, cookies: maps.Clone(admin.cookies), ip: admin.ip}
				wg.Go(func() { tab.post(path, refundForm("", "the rest", 300)) })
			}
			wg.Wait()
			assert.Zero(t, s.balance(t), "all refunded")
			p, err := s.billing.Purchase(context.Background(), s.purchase.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusRefunded, p.Status)
			assert.EqualValues(t, 900, p.AmountRefunded, "five clicks, one refund of the rest")
			s.assertLedgerSound(t)

			entries, err := s.acct.Audit.Recent(context.Background(), s.user, 20)
			require.NoError(t, err)
			var refunds []string
			for _, e := range entries {
				if e.Action == "billing.refund" {
					refunds = append(refunds, e.Detail)
					assert.NotEmpty(t, e.ActorID, "the administrator")
				}
			}
			require.GreaterOrEqual(t, len(refunds), 2, "each refund in the audit log")
			assert.Contains(t, strings.Join(refunds, "\n"), "asked for a third back")

			_, body = admin.get("/admin/payments/" + s.purchase.ID)
			assert.Contains(t, body, "Nothing to refund")
		})
	}
}

// TestAdminRefundOneViewOneRefund: row 64. Two tabs of one view of the
// purchase ask for different amounts while the first refund's credits are
// not yet reversed (Stripe's read of the charge lags): Stripe makes one
// refund and the second tab is told another is under way.
func TestAdminRefundOneViewOneRefund(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, admin := adminShop(t, d)
			path := "/admin/payments/" + s.purchase.ID + "/refund"
			s.stripe.ReadStale(s.charge, 0)
			resp, _ := admin.post(path, refundForm("3", "first tab", 0))
			wantRedirect(t, resp, http.StatusSeeOther, "/admin/payments/"+s.purchase.ID)
			resp, body := admin.post(path, refundForm("4", "second tab", 0))
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			assert.Contains(t, body, "Another refund of this purchase is under way")
			ch, err := s.stripe.Charge(context.Background(), s.charge)
			require.NoError(t, err)
			assert.EqualValues(t, 300, ch.AmountRefunded, "one refund")
			assert.Equal(t, 1, s.count(t, "audit_log WHERE action = 'billing.refund_failed'"), "the second tab's refusal is audited")

			s.deliverAbout(t, "evt_refund", billing.EventChargeRefunded, "charge", s.charge)
			s.runDueJobs(t)
			s.assertStands(t, packageCredits-83, 0, "the one refund's share taken back")
		})
	}
}

// TestAdminRefundAuditFailureKeepsTheRefund: row 64. Stripe refunded but
// the audit entry cannot be written: the page does not say Stripe
// refused, the credits are still taken back, and the failure is logged.
func TestAdminRefundAuditFailureKeepsTheRefund(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, admin := adminShop(t, d)
			_, err := s.db.ExecContext(context.Background(), "ALTER TABLE audit_log RENAME TO audit_log_away")
			require.NoError(t, err)
			resp, body := admin.post("/admin/payments/"+s.purchase.ID+"/refund", refundForm("3", "asked", 0))
			wantRedirect(t, resp, http.StatusSeeOther, "/admin/payments/"+s.purchase.ID)
			assert.NotContains(t, body, "Stripe did not refund")
			s.assertStands(t, packageCredits-83, 0, "reversed though the audit failed")
			assert.Contains(t, s.logs.String(), "its audit entry not written")
		})
	}
}

// Row 64: bad refund requests are refused with the reason, nothing sent
// to Stripe or written; a stale session is sent to reauthenticate first.
func TestAdminRefundRefusals(t *testing.T) {
	s, admin := adminShop(t, database.SQLite)
	path := "/admin/payments/" + s.purchase.ID + "/refund"
	for form, want := range map[string]url.Values{
		"refund needs a reason":      refundForm("1", " ", 0),
		"not an amount in EUR":       refundForm("1,50", "x", 0),
		"from 0.01 EUR to 9.00 EUR":  refundForm("9.01", "x", 0),
		"reload it and check":        refundForm("1", "x", 100),
		"reload the page and refund": {"amount": {"1"}, "reason": {"x"}},
	} {
		resp, body := admin.post(path, want)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, form)
		assert.True(t, strings.Contains(body, form), "%s: the page says why", form)
	}
	assert.EqualValues(t, packageCredits, s.balance(t))
	assert.Zero(t, s.count(t, "audit_log WHERE action LIKE 'billing.%'"), "nothing asked of Stripe")

	// Refunded in Stripe's dashboard meanwhile: Stripe refuses, the page
	// says so, and the refusal is in the audit log.
	s.stripe.Refund(s.charge, 900)
	resp, body := admin.post(path, refundForm("1", "asked", 0))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "Stripe's refusal is the request's fault")
	assert.Contains(t, body, "Stripe refused the refund: Refund amount (100) is greater than unrefunded amount on charge (0)")
	assert.Equal(t, 1, s.count(t, "audit_log WHERE action = 'billing.refund_failed'"), "the refusal is audited")
	// Stripe unreachable: a gateway failure, audited too.
	s.stripe.FailRefunds(1)
	resp, body = admin.post(path, refundForm("1", "asked", 0))
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, "Stripe did not refund")
	assert.Equal(t, 2, s.count(t, "audit_log WHERE action = 'billing.refund_failed'"))
	resp, _ = admin.post("/admin/payments/nope/refund", refundForm("1", "x", 0))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	s.clock.Advance(11 * time.Minute)
	resp, _ = admin.post(path, refundForm("1", "x", 0))
	wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate")
	assert.EqualValues(t, packageCredits, s.balance(t), "no refund before the password is entered again")
}
