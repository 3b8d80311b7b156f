//go:build browser

// The browser walk: a real headless Chromium signs up, opens the
// verification link from the emails the app wrote, logs in, visits the
// dashboard and settings, and logs out, against the app started in-process.
//
//	go test -tags browser -run TestBrowser ./cmd/...
//
// Chromium is found through CHROMIUM_BIN or on $PATH (Debian: apt-get
// install chromium). Missing, the test is skipped, unless REQUIRE_BROWSER=1
// makes that a failure.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

func findChromium(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CHROMIUM_BIN"); bin != "" {
		return bin
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if bin, err := exec.LookPath(name); err == nil {
			return bin
		}
	}
	const msg = "no Chromium found (set CHROMIUM_BIN or install it: apt-get install chromium)"
	if os.Getenv("REQUIRE_BROWSER") == "1" {
		require.FailNow(t, "REQUIRE_BROWSER=1: "+msg)
	}
	t.Skip(msg)
	return ""
}

// The size of the browser window, a desktop's.
const windowWidth, windowHeight = 1280, 900

// browserApp is the app served in-process on a free port with a SQLite
// database and the file mail backend, and a headless Chromium to drive it.
type browserApp struct {
	base    string
	mailDir string
	env     func(string) string
	browser context.Context
}

// startBrowserApp migrates a fresh database, runs each of commands (a
// command line without the program name, such as "seed-demo"), serves the
// app and starts Chromium. Everything stops when
// the test ends; the browser gives up after timeout.
func startBrowserApp(t *testing.T, timeout time.Duration, commands ...string) *browserApp {
	t.Helper()
	return startBrowserAppWith(t, timeout, nil, commands...)
}

// startBrowserAppWith is startBrowserApp with the variables of extra set
// too, e.g. STRIPE_FAKE=true.
func startBrowserAppWith(t *testing.T, timeout time.Duration, extra map[string]string, commands ...string) *browserApp {
	t.Helper()
	chromium := findChromium(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	app := &browserApp{base: "http://" + addr, mailDir: filepath.Join(dir, "mail")}
	vars := map[string]string{
		"APP_ENV": "development", "HTTP_ADDR": addr, "BASE_URL": app.base, "SECRET_KEY": testSecret,
		"DATABASE_URL": "sqlite:" + filepath.Join(dir, "app.db"), "EMAIL_BACKEND": "file", "EMAIL_FILE_DIR": app.mailDir,
		"STORAGE_DIR": filepath.Join(dir, "files"), "LOG_LEVEL": "warn",
	}
	for k, v := range extra {
		vars[k] = v
	}
	app.env = environment(vars)
	ctx, cancel := context.WithCancel(context.Background())
	for _, command := range append([]string{"migrate up"}, commands...) {
		args := append([]string{appName}, strings.Fields(command)...)
		if err := run(ctx, args, app.env, nil, io.Discard, io.Discard); err != nil {
			cancel()
			require.NoError(t, err, command)
		}
	}
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{appName, "serve"}, app.env, nil, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-served, "serve")
	})
	waitReady(t, app.base, served)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.WindowSize(windowWidth, windowHeight),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	browser, cancelTimeout := context.WithTimeout(browser, timeout)
	t.Cleanup(cancelTimeout)
	app.browser = browser
	return app
}

// step runs actions in the browser and stops the test, naming what, if one
// fails.
func (app *browserApp) step(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(app.browser, actions...), what)
}

// text is the visible text of the first element matching sel.
func (app *browserApp) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(app.browser, chromedp.Text(sel))
	require.NoError(t, err, "read %s", sel)
	return s
}

// value is the value of the form field matching sel.
func (app *browserApp) value(t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(app.browser, chromedp.Value(sel))
	require.NoError(t, err, "read the value of %s", sel)
	return s
}

// userID is the id of the account with the (normalised) address email.
func (app *browserApp) userID(t *testing.T, email string) string {
	t.Helper()
	return app.lookup(t, "SELECT id FROM users WHERE email_normalized = ?", email)
}

// demoPackageID is the id of the first credit package of the demo
// catalogue, which serve offers with STRIPE_FAKE=true.
func (app *browserApp) demoPackageID(t *testing.T) string {
	t.Helper()
	return app.lookup(t, "SELECT id FROM credit_packages ORDER BY sort_order, id LIMIT 1")
}

// lookup reads one value from the app's database.
func (app *browserApp) lookup(t *testing.T, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, app.env("DATABASE_URL"))
	require.NoError(t, err)
	defer db.Close()
	var v string
	require.NoError(t, db.QueryRowContext(ctx, query, args...).Scan(&v), "%s %v", query, args)
	return v
}

// logIn signs in through the login form and waits for the dashboard.
func (app *browserApp) logIn(t *testing.T, email, password string) {
	t.Helper()
	app.step(t, "log in as "+email,
		chromedp.Navigate(app.base+"/login"),
		chromedp.WaitVisible("#field-email"),
		chromedp.SendKeys("#field-email", email),
		chromedp.SendKeys("#field-password", password),
		chromedp.Click(`form[action="/login"] button[type="submit"]`),
		chromedp.WaitVisible(".status-card"),
	)
}

// logOut submits the logout form (its button sits in the hover menu, so
// the form is submitted as the button would) and waits for the visitor's
// navigation.
func (app *browserApp) logOut(t *testing.T) {
	t.Helper()
	app.step(t, "log out",
		chromedp.Submit(`form[action="/logout"]`, chromedp.NodeReady),
		chromedp.WaitVisible(`a[href="/signup"]`),
	)
}

func TestBrowserSignUpToLogout(t *testing.T) {
	app := startBrowserApp(t, 90*time.Second)
	base := app.base

	// Leaving a field checks it (htmx). The check rewrites only the line
	// under the input: were the input swapped, the password (never sent
	// back) would be wiped, even between the press and the release of a
	// click on the submit button.
	const short = "too short"
	app.step(t, "sign up: a short password is flagged in place",
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible("#field-email"),
		chromedp.SendKeys("#field-email", "ada@example.com"),
		chromedp.SendKeys("#field-name", "Ada Lovelace"),
		chromedp.SendKeys("#field-password", short+kb.Tab),
		chromedp.WaitVisible("#field-password-feedback .is-danger"),
		chromedp.WaitReady(`#field-password.is-danger[aria-invalid="true"]`),
	)
	require.Equal(t, short, app.value(t, "#field-password"), "after its check the password field must hold what was typed")
	const password = "a long browser passphrase"
	app.step(t, "sign up: a good password clears the problem",
		chromedp.SendKeys("#field-password", strings.Repeat(kb.Backspace, len(short))+password+kb.Tab),
		chromedp.WaitNotPresent("#field-password-feedback .is-danger"),
		chromedp.WaitNotPresent("#field-password[aria-invalid]"),
	)
	require.Equal(t, password, app.value(t, "#field-password"), "after its check the password field must hold what was typed")
	app.step(t, "sign up",
		chromedp.Click(`form[action="/signup"] button[type="submit"]`),
		chromedp.WaitVisible(".auth-outcome"),
	)
	require.Contains(t, app.text(t, ".auth-outcome"), "Check your inbox", "after sign-up the page says")

	link := mailedLink(t, app.mailDir, base, "/verify")
	app.step(t, "open the verification link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(`form[action="/verify"] button`),
		chromedp.Click(`form[action="/verify"] button`),
		chromedp.WaitVisible(`form[action="/login"]`),
	)
	require.Contains(t, app.text(t, ".flash-container"), "confirmed", "after verification the flash says")

	app.step(t, "log in",
		chromedp.SendKeys("#field-email", "ada@example.com"),
		chromedp.SendKeys("#field-password", password),
		chromedp.Click(`form[action="/login"] button[type="submit"]`),
		chromedp.WaitVisible(".status-card"),
	)
	require.Contains(t, app.text(t, "h1"), "Hello, Ada Lovelace", "dashboard heading")

	app.step(t, "settings",
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible("#sessions"),
	)
	require.Contains(t, app.text(t, "#sessions"), "this session", "sessions section")

	app.logOut(t)
	require.Contains(t, app.text(t, ".flash-container"), "logged out", "after logout the flash says")
	app.step(t, "dashboard after logout", chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible(`form[action="/login"]`))
	loc, err := chromedp.Run(app.browser, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "/login?next=", "dashboard after logout")
}

// mailedLink waits for a .eml of the file backend whose plain-text part
// holds a link to path with a token, and returns that link.
func mailedLink(t *testing.T, dir, base, path string) string {
	t.Helper()
	pattern := regexp.MustCompile(regexp.QuoteMeta(base+path) + `\?token=[A-Za-z0-9_-]+`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			if text := plainText(t, f); pattern.MatchString(text) {
				return pattern.FindString(text)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.FailNow(t, "no email with a link to "+path+" in "+dir+" within 20s")
	return ""
}

func plainText(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	msg, err := mail.ReadMessage(bufio.NewReader(f))
	require.NoError(t, err, "parse %s", path)
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err, "%s: Content-Type", path)
	require.True(t, strings.HasPrefix(mediaType, "multipart/"), "%s: Content-Type %q, want multipart", path, mediaType)
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart()
		require.NoError(t, err, "%s has no text/plain part", path)
		if !strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			continue
		}
		var r io.Reader = part // multipart decodes quoted-printable itself
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, part)
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		return string(b)
	}
}
