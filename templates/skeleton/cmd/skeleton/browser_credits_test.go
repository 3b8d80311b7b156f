//go:build browser

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	if got := app.text(t, ".flash-container"); !strings.Contains(got, "balance is now 1") {
		t.Fatalf("after the grant the flash says %q", got)
	}
	app.logOut(t)

	app.logIn(t, demoUserEmail, demoPassword)
	if got := app.text(t, "#credit-balance"); !strings.Contains(got, "1") {
		t.Fatalf("dashboard balance = %q, want 1", got)
	}
	app.step(t, "run the paid service",
		chromedp.SendKeys("#text-word-count", "three small words"),
		chromedp.Click(`form[action="/credits/services/word-count/runs"] button[type="submit"]`),
		chromedp.WaitVisible("#run-result-word-count .run-output"),
	)
	if got := app.text(t, "#credit-balance"); !strings.Contains(got, "0") {
		t.Fatalf("balance after the run = %q, want 0 without a reload", got)
	}
	if got := app.text(t, "#run-result-word-count"); !strings.Contains(got, "words") || !strings.Contains(got, "3") {
		t.Fatalf("run result = %q", got)
	}

	app.step(t, "run again without credits",
		chromedp.Click(`form[action="/credits/services/word-count/runs"] button[type="submit"]`),
		chromedp.WaitVisible("#run-result-word-count .insufficient-credits"),
		chromedp.WaitVisible(`#run-result-word-count .insufficient-credits a[href="/contact"]`),
	)
	if got := app.text(t, "#run-result-word-count"); !strings.Contains(got, "needs 1 credit and you have 0") {
		t.Fatalf("insufficient state = %q", got)
	}

	app.step(t, "history", chromedp.Navigate(base+"/credits/history"), chromedp.WaitVisible(".credit-history"))
	if got := app.text(t, ".credit-history"); !strings.Contains(got, "consumption") || !strings.Contains(got, "word-count") || !strings.Contains(got, "welcome credit") {
		t.Fatalf("history = %q", got)
	}
}
