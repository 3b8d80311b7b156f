//go:build browser

package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// TestBrowserCredits: an admin grants a credit; the user runs the paid
// service from the dashboard and sees the balance change in place, finds
// the run in the history, and meets the friendly state when credits run out.
func TestBrowserCredits(t *testing.T) {
	chromium := findChromium(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	env := environment(map[string]string{
		"APP_ENV": "development", "HTTP_ADDR": addr, "BASE_URL": base, "SECRET_KEY": testSecret,
		"DATABASE_URL": "sqlite:" + filepath.Join(dir, "app.db"), "EMAIL_BACKEND": "file",
		"EMAIL_FILE_DIR": filepath.Join(dir, "mail"), "LOG_LEVEL": "warn",
	})
	ctx, cancel := context.WithCancel(context.Background())
	for _, command := range []string{"migrate up", "seed-demo"} {
		args := append([]string{appName}, strings.Fields(command)...)
		if err := run(ctx, args, env, nil, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	db, err := database.Open(ctx, env("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	var userID string
	err = db.QueryRowContext(ctx, "SELECT id FROM users WHERE email_normalized = ?", demoUserEmail).Scan(&userID)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{appName, "serve"}, env, nil, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitReady(t, base, served)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	browser, cancelTimeout := context.WithTimeout(browser, 90*time.Second)
	defer cancelTimeout()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	logIn := func(email string) {
		t.Helper()
		step("log in as "+email,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible("#field-email"),
			chromedp.SendKeys("#field-email", email),
			chromedp.SendKeys("#field-password", demoPassword),
			chromedp.Click(`form[action="/login"] button[type="submit"]`),
			chromedp.WaitVisible(".status-card"),
		)
	}

	logIn(demoAdminEmail)
	step("admin grants a credit",
		chromedp.Navigate(base+"/admin/users/"+userID+"/credits"),
		chromedp.WaitVisible("#adjust-amount"),
		chromedp.SendKeys("#adjust-amount", "1"),
		chromedp.SendKeys("#adjust-reason", "welcome credit"),
		chromedp.Click(`form[action$="/credits"] button[type="submit"]`),
		chromedp.WaitVisible(".flash-container"),
	)
	if got := text(".flash-container"); !strings.Contains(got, "balance is now 1") {
		t.Fatalf("after the grant the flash says %q", got)
	}
	step("admin logs out",
		chromedp.Submit(`form[action="/logout"]`, chromedp.NodeReady),
		chromedp.WaitVisible(`a[href="/signup"]`),
	)

	logIn(demoUserEmail)
	if got := text("#credit-balance"); !strings.Contains(got, "1") {
		t.Fatalf("dashboard balance = %q, want 1", got)
	}
	step("run the paid service",
		chromedp.SendKeys("#text-word-count", "three small words"),
		chromedp.Click(`form[action="/credits/services/word-count/runs"] button[type="submit"]`),
		chromedp.WaitVisible("#run-result-word-count .run-output"),
	)
	if got := text("#credit-balance"); !strings.Contains(got, "0") {
		t.Fatalf("balance after the run = %q, want 0 without a reload", got)
	}
	if got := text("#run-result-word-count"); !strings.Contains(got, "words") || !strings.Contains(got, "3") {
		t.Fatalf("run result = %q", got)
	}

	step("run again without credits",
		chromedp.Click(`form[action="/credits/services/word-count/runs"] button[type="submit"]`),
		chromedp.WaitVisible("#run-result-word-count .insufficient-credits"),
		chromedp.WaitVisible(`#run-result-word-count .insufficient-credits a[href="/contact"]`),
	)
	if got := text("#run-result-word-count"); !strings.Contains(got, "needs 1 credit and you have 0") {
		t.Fatalf("insufficient state = %q", got)
	}

	step("history", chromedp.Navigate(base+"/credits/history"), chromedp.WaitVisible(".credit-history"))
	if got := text(".credit-history"); !strings.Contains(got, "consumption") || !strings.Contains(got, "word-count") || !strings.Contains(got, "welcome credit") {
		t.Fatalf("history = %q", got)
	}
}
