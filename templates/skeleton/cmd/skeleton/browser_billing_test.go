//go:build browser

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserBilling: with STRIPE_FAKE=true a new project sells its demo
// packages out of the box. The user goes from the pricing page to the buy
// page, to the fake checkout's pay page, pays, lands on the success page
// with the new balance, and finds the purchase and its receipt in the
// payment history. An administrator then refunds it, and the buyer's
// balance, payments and history show the reversal. Each page passes the axe-core scan and the layout
// checks that TestBrowserPages runs, and is screenshotted into
// SCREENSHOT_DIR when it is set.
func TestBrowserBilling(t *testing.T) {
	app := startBrowserAppWith(t, 3*time.Minute, map[string]string{"STRIPE_FAKE": "true"}, "seed-demo")
	base := app.base
	axe, axeMissing := axeCore(t)
	shots := os.Getenv("SCREENSHOT_DIR")
	check := func(where string) {
		t.Helper()
		if axe != "" {
			app.step(t, "load axe-core", chromedp.Evaluate[chromedp.Void](axe))
			checkAccessibility(t, app, where)
		}
		checkLayout(t, app, where)
		if shots != "" {
			screenshot(t, app, filepath.Join(shots, "billing-"+strings.ReplaceAll(where, " ", "-")+".png"))
		}
	}
	balance := func() int64 {
		t.Helper()
		n, err := strconv.ParseInt(strings.Fields(app.text(t, "#credit-balance"))[0], 10, 64)
		require.NoError(t, err, "the balance is a number")
		return n
	}

	app.logIn(t, demoUserEmail, demoPassword)
	before := balance()
	app.step(t, "the navigation leads to pricing",
		chromedp.Click(`.navbar-end a[href="/pricing"]`),
		chromedp.WaitVisible(".package-card"),
	)
	pricing := app.text(t, ".pricing")
	for _, want := range []string{"Starter", "100", "5.00 USD"} {
		require.Contains(t, pricing, want, "the pricing page")
	}
	check("pricing")

	app.step(t, "pricing leads to the buy page",
		chromedp.Click(`.package-card a[href="/credits/buy"]`),
		chromedp.WaitVisible(`.package-card form[action^="/credits/buy/"]`),
	)
	check("buy")
	app.step(t, "buy Starter",
		chromedp.Click(`.package-card:first-of-type form button[type="submit"], .column:first-child .package-card form button[type="submit"]`),
		chromedp.WaitVisible(".dev-checkout"),
	)
	loc, err := chromedp.Run(app.browser, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc, base+"/dev/checkout/cs_fake_"), "the buy went to the fake checkout, not %s", loc)
	require.Contains(t, app.text(t, ".dev-checkout"), "5.00 USD", "the pay page shows the amount")
	check("fake checkout")

	app.step(t, "pay",
		chromedp.Click(`form[action$="/pay"] button[type="submit"]`),
		chromedp.WaitVisible(".purchase-outcome .notification.is-success"),
	)
	require.Contains(t, app.text(t, ".purchase-outcome"), "100 credits are in your account", "the success page")
	assert.Equal(t, before+100, balance(), "the success page shows the new balance")
	check("success")

	app.step(t, "the history shows the purchase",
		chromedp.Navigate(base+"/credits/purchases"),
		chromedp.WaitVisible("table.purchases"),
	)
	history := app.text(t, "table.purchases")
	for _, want := range []string{"100", "5.00 USD", "paid"} {
		require.Contains(t, history, want, "the payment history")
	}
	check("purchases")
	app.step(t, "its receipt",
		chromedp.Click(`table.purchases a[href^="/credits/purchases/"]`),
		chromedp.WaitVisible(".receipt"),
	)
	require.Contains(t, app.text(t, ".receipt"), "pi_fake_", "the receipt names the payment")
	check("receipt")

	app.step(t, "the credits page offers more",
		chromedp.Navigate(base+"/credits"),
		chromedp.WaitVisible(`a.buy-credits[href="/credits/buy"]`),
	)
	assert.Equal(t, before+100, balance(), "the credits page's balance")

	// An administrator refunds it (through the fake, as through Stripe),
	// and the buyer's balance and history show the reversal.
	app.logOut(t)
	app.logIn(t, demoAdminEmail, demoPassword)
	app.step(t, "the admin finds the payment",
		chromedp.Navigate(base+"/admin/payments"),
		chromedp.WaitVisible(`table a[href^="/admin/payments/"]`),
	)
	require.Contains(t, app.text(t, "table"), demoUserEmail, "the payments list names the buyer")
	check("admin payments")
	app.step(t, "its detail",
		chromedp.Click(`table a[href^="/admin/payments/"]`),
		chromedp.WaitVisible(`form[action$="/refund"]`),
	)
	check("admin payment")
	app.step(t, "refund all of it",
		chromedp.SendKeys("#refund-reason", "the customer asked"),
		chromedp.Click(`form[action$="/refund"] button[type="submit"]`),
		chromedp.WaitVisible(".flash-container .notification"),
	)
	require.Contains(t, app.text(t, ".flash-container"), "Refunded 5.00 USD", "the refund is confirmed")
	require.Contains(t, app.text(t, ".detail-list"), "refunded", "the payment reads as refunded")

	app.logOut(t)
	app.logIn(t, demoUserEmail, demoPassword)
	app.step(t, "the buyer's credits", chromedp.Navigate(base+"/credits"), chromedp.WaitVisible("#credit-balance"))
	assert.Equal(t, before, balance(), "the refund took the purchase's credits back")
	app.step(t, "the buyer's payments",
		chromedp.Navigate(base+"/credits/purchases"),
		chromedp.WaitVisible("table.purchases"),
	)
	require.Contains(t, app.text(t, "table.purchases"), "refunded", "the payment history shows the refund")
	app.step(t, "the buyer's history",
		chromedp.Navigate(base+"/credits/history"),
		chromedp.WaitVisible("table"),
	)
	require.Contains(t, app.text(t, "table"), "payment reversal", "the history shows the reversal")
	check("history after refund")
	if axeMissing != "" {
		t.Skip(axeMissing)
	}
}
