//go:build browser

package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestBrowserCredits: an admin grants a credit; the user runs the paid
// service from the dashboard and sees the balance change in place, finds
// the run in the history, and meets the friendly state when credits run out.
func TestBrowserCredits(t *testing.T) {
	app := startBrowserApp(t, 90*time.Second, "seed-demo")
	base := app.base
	userID := app.userID(t, demoUserEmail)

	app.logIn(t, demoAdminEmail, demoPassword)
	app.step(t, "admin grants a credit",
		chromedp.Navigate(base+"/admin/users/"+userID+"/credits"),
		chromedp.WaitVisible("#adjust-amount"),
		chromedp.SendKeys("#adjust-amount", "1"),
		chromedp.SendKeys("#adjust-reason", "welcome credit"),
		chromedp.Click(`form[action$="/credits"] button[type="submit"]`),
		chromedp.WaitVisible(".flash-container"),
	)
	require.Contains(t, app.text(t, ".flash-container"), "balance is now 1", "after the grant the flash says")
	app.logOut(t)

	app.logIn(t, demoUserEmail, demoPassword)
	require.Contains(t, app.text(t, "#credit-balance"), "1", "dashboard balance")
	app.step(t, "run the paid service",
		chromedp.SendKeys("#text-word-count", "three small words"),
		chromedp.Click(`form[action="/credits/services/word-count/runs"] button[type="submit"]`),
		chromedp.WaitVisible("#run-result-word-count .run-output"),
	)
	require.Contains(t, app.text(t, "#credit-balance"), "0", "balance after the run")
	result := app.text(t, "#run-result-word-count")
	require.Contains(t, result, "words", "run result")
	require.Contains(t, result, "3", "run result")

	app.step(t, "run again without credits",
		chromedp.Click(`form[action="/credits/services/word-count/runs"] button[type="submit"]`),
		chromedp.WaitVisible("#run-result-word-count .insufficient-credits"),
		chromedp.WaitVisible(`#run-result-word-count .insufficient-credits a[href="/contact"]`),
	)
	require.Contains(t, app.text(t, "#run-result-word-count"), "needs 1 credit and you have 0", "insufficient state")

	app.step(t, "history", chromedp.Navigate(base+"/credits/history"), chromedp.WaitVisible(".credit-history"))
	history := app.text(t, ".credit-history")
	for _, want := range []string{"consumption", "word-count", "welcome credit"} {
		require.Contains(t, history, want, "history")
	}
}
