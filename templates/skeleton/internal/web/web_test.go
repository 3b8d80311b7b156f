package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/devreload"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging/logtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/middleware"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const testAppName = "Acme Rockets"

// app is the real handler over a real database, with its log captured.
type app struct {
	handler http.Handler
	db      *database.DB
	checker *health.Checker
	logs    *logtest.Buffer
	acct    Accounts
	clock   *clock.Fake
	// jobs is the queue the features register their jobs on; nothing runs
	// it but the tests (runDueJobs).
	jobs *jobs.Queue
	deps Deps
	// billing is nil unless options.stripe turned payments on.
	billing *billing.Billing
	// reload is nil unless options.sourceDir is set.
	reload *devreload.Watcher
}

type options struct {
	contacts   ContactStore
	trustProxy bool
	migrated   bool
	// baseURL defaults to http://example.com; https gives production cookies.
	baseURL string
	// db, when set, is the database as the test prepared it; migrated is
	// then ignored.
	db *database.DB
	// stripe, when set, turns payments on, with this Stripe.
	stripe *billingtest.Stripe
	// fake turns payments on through the development checkout
	// (STRIPE_FAKE=true), instead of stripe.
	fake bool
	// sourceDir, when set, is a copy of the project (SOURCE_DIR): the
	// templates and static files are read from it, and app.reload watches it.
	sourceDir string
}

func newApp(t testing.TB, dialect database.Dialect, opts options) *app {
	t.Helper()
	db := opts.db
	switch {
	case db == nil && opts.migrated:
		db = dbtest.Open(t, dialect)
	case db == nil:
		db = dbtest.OpenEmpty(t, dialect)
	}
	logs := &logtest.Buffer{}
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	logger := logging.New(logs, "json", slog.LevelDebug)
	assets, err := static.New()
	require.NoError(t, err)
	renderer, err := views.New(testAppName, assets, clk)
	require.NoError(t, err)
	var watcher *devreload.Watcher
	if opts.sourceDir != "" {
		assets, renderer, watcher, err = devreload.Live(logger, testAppName, clk, opts.sourceDir)
		require.NoError(t, err)
	}
	m, err := migrate.New(db, clk)
	require.NoError(t, err)
	checker := health.New(logger,
		health.Check{Name: "database", Run: db.PingContext},
		health.Check{Name: "schema", Run: m.Check})
	contacts := opts.contacts
	if contacts == nil {
		contacts = contact.NewStore(db, clk)
	}
	if opts.baseURL == "" {
		opts.baseURL = "http://example.com"
	}
	base, _ := url.Parse(opts.baseURL)
	queue := jobs.New(db, logger, clk)
	deps := Deps{
		Logger: logger,
		Clock:  clk,
		Config: Config{
			BaseURL:           base,
			TrustProxyHeaders: opts.trustProxy,
			SecretKey:         []byte("0123456789abcdef0123456789abcdef"),
			Development:       true,
			StripeTestMode:    opts.stripe != nil,
		},
		Views:     renderer,
		Assets:    assets,
		Health:    checker,
		Contacts:  contacts,
		Limiter:   ratelimit.New(db, clk),
		Accounts:  testAccounts(t, db, queue, logger, opts.baseURL, clk),
		Credits:   testCredits(t, db, logger, clk),
		Files:     testFiles(t, db, logger, clk, queue),
		DevReload: watcher,
	}
	if opts.stripe != nil || opts.fake {
		var api billing.Stripe = opts.stripe
		if opts.fake {
			deps.DevCheckout = devcheckout.New(opts.baseURL, billingtest.WebhookSecret)
			api = deps.DevCheckout
		}
		deps.Billing = billing.New(billing.Options{DB: db, Ledger: deps.Credits.Ledger, Stripe: api, Clock: clk,
			Logger: logger, Jobs: queue, WebhookSecret: billingtest.WebhookSecret, Mail: billingtest.Mail(db, deps.Accounts.Outbox)})
		if opts.fake {
			deps.DevCheckout.SellFrom(deps.Billing.PackageByPrice)
		}
		deps.Billing.RegisterJobs()
		deps.Accounts.Users.OnEmailChange(deps.Billing.QueueCustomerEmail)
	}
	h, err := NewServer(deps)
	require.NoError(t, err)
	return &app{handler: h, db: db, checker: checker, logs: logs, acct: deps.Accounts, clock: clk, jobs: queue, deps: deps,
		billing: deps.Billing, reload: watcher}
}

func migratedApp(t testing.TB, dialect database.Dialect) *app {
	return newApp(t, dialect, options{migrated: true})
}

// do sends r through the whole handler and returns the response with its
// body read (and un-gzipped if need be).
func (a *app) do(r *http.Request) (*http.Response, string) {
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, r)
	resp := rec.Result()
	body := rec.Body.Bytes()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	return resp, string(body)
}

func get(path string) *http.Request {
	return httptest.NewRequest(http.MethodGet, path, nil)
}

// post builds a same-origin form POST, as a browser on the site sends it.
func post(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://example.com")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

func asHTMX(r *http.Request) *http.Request {
	r.Header.Set("HX-Request", "true")
	return r
}

func validForm() url.Values {
	return url.Values{
		"name":    {"Ada Lovelace"},
		"email":   {"ada@example.com"},
		"message": {"I would like to hear more about your product."},
	}
}

func countMessages(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM contact_messages").Scan(&n))
	return n
}

func TestPages(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := migratedApp(t, dialect)
			for _, path := range []string{"/", "/about", "/contact"} {
				resp, body := a.do(get(path))
				require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s = %d, want 200", path, resp.StatusCode)
				ct := resp.Header.Get("Content-Type")
				assert.Equal(t, "text/html; charset=utf-8", ct, "GET %s Content-Type = %q", path, ct)
				for _, want := range []string{testAppName, `<a class="skip-link" href="#main">`, "<header", "<nav", `<main id="main"`, "<footer", `aria-current="page"`} {
					assert.Contains(t, body, want, "GET %s: page lacks %q", path, want)
				}
			}
		})
	}
}

func TestNotFoundIsStyled(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	for _, r := range []*http.Request{get("/no-such-page"), get("/static/css/missing.css"), post("/no-such-form", nil)} {
		resp, body := a.do(r)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s = %d, want 404", r.Method, r.URL.Path, resp.StatusCode)
		assert.Contains(t, body, "Page not found", "%s %s: 404 is not the styled page:\n%s", r.Method, r.URL.Path, body)
		assert.Contains(t, body, `class="section error-page"`, "%s %s: 404 is not the styled page:\n%s", r.Method, r.URL.Path, body)
	}
}

// panickingStore makes POST /contact panic, the way a bug would.
type panickingStore struct{}

func (panickingStore) Create(context.Context, *contact.Message) error {
	panic("contact store exploded: secret internal detail")
}

func TestPanicGives500AndServerCarriesOn(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := newApp(t, dialect, options{migrated: true, contacts: panickingStore{}})
			resp, body := a.do(post("/contact", validForm()))
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "status = %d, want 500", resp.StatusCode)
			assert.Contains(t, body, "Something went wrong", "500 is not the styled page:\n%s", body)
			for _, leak := range []string{"goroutine", "secret internal detail", "panic", ".go:"} {
				assert.NotContains(t, body, leak, "500 page leaks %q to the client", leak)
			}
			id := resp.Header.Get("X-Request-Id")
			assert.NotEqual(t, "", id, "500 page does not quote the request id %q", id)
			assert.Contains(t, body, id, "500 page does not quote the request id %q", id)
			logs := a.logs.String()
			assert.Contains(t, logs, "panic serving request", "panic not logged with its request id:\n%s", logs)
			assert.Contains(t, logs, `"request_id":"`+id+`"`, "panic not logged with its request id:\n%s", logs)
			resp, _ = a.do(get("/"))
			require.Equal(t, http.StatusOK, resp.StatusCode, "GET / after a panic = %d, want 200", resp.StatusCode)
		})
	}
}

var wantHeaders = map[string]string{
	"Content-Security-Policy":      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "strict-origin-when-cross-origin",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	panicky := newApp(t, database.SQLite, options{migrated: true, contacts: panickingStore{}})
	assetURL := findAssetURLs(t, a)[0]
	crossSite := post("/contact", validForm())
	crossSite.Header.Set("Sec-Fetch-Site", "cross-site")
	crossSite.Header.Set("Origin", "https://evil.example")
	tooLarge := post("/contact", url.Values{"message": {strings.Repeat("x", contact.MaxFormBytes)}})
	validate := asHTMX(post("/contact/validate", url.Values{"email": {"nope"}}))
	validate.Header.Set("HX-Trigger-Name", "email")

	cases := []struct {
		name    string
		app     *app
		req     *http.Request
		wantSts int
	}{
		{"home", a, get("/"), 200},
		{"about", a, get("/about"), 200},
		{"contact", a, get("/contact"), 200},
		{"404", a, get("/missing"), 404},
		{"static", a, get(assetURL), 200},
		{"htmx partial", a, asHTMX(post("/contact", url.Values{})), 200},
		{"htmx field", a, validate, 200},
		{"redirect", a, post("/contact", validForm()), 303},
		{"unprocessable", a, post("/contact", url.Values{}), 422},
		{"cross-site 403", a, crossSite, 403},
		{"too large 413", a, tooLarge, 413},
		{"livez", a, get("/livez"), 200},
		{"readyz", a, get("/readyz"), 200},
		{"panic 500", panicky, post("/contact", validForm()), 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := tc.app.do(tc.req)
			require.Equal(t, tc.wantSts, resp.StatusCode, "status = %d, want %d", resp.StatusCode, tc.wantSts)
			for name, want := range wantHeaders {
				got := resp.Header.Get(name)
				assert.Equal(t, want, got, "%s = %q, want %q", name, got, want)
			}
			assert.NotEqual(t, "", resp.Header.Get("Permissions-Policy"), "Permissions-Policy missing")
			assert.Equal(t, "", resp.Header.Get("Strict-Transport-Security"), "HSTS sent over plain HTTP")
		})
	}
}

func TestHSTSOnlyOverHTTPS(t *testing.T) {
	direct := migratedApp(t, database.SQLite)
	proxied := newApp(t, database.SQLite, options{migrated: true, trustProxy: true})

	overTLS := get("/")
	overTLS.TLS = &tls.ConnectionState{}
	forwarded := get("/")
	forwarded.Header.Set("X-Forwarded-Proto", "https")
	forwardedHTTP := get("/")
	forwardedHTTP.Header.Set("X-Forwarded-Proto", "http")

	for _, tc := range []struct {
		name string
		app  *app
		req  *http.Request
		want bool
	}{
		{"tls", direct, overTLS, true},
		{"untrusted proxy header", direct, forwarded, false},
		{"trusted proxy https", proxied, forwarded, true},
		{"trusted proxy http", proxied, forwardedHTTP, false},
	} {
		resp, _ := tc.app.do(tc.req)
		got := resp.Header.Get("Strict-Transport-Security") != ""
		assert.Equal(t, tc.want, got, "%s: HSTS present = %v, want %v", tc.name, got, tc.want)
	}
}

// concretePath turns a route pattern into a path that matches it.
func concretePath(pattern string) (method, path string) {
	method, path, found := strings.Cut(pattern, " ")
	if !found {
		method, path = "", pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{path...}", "css/app.css")
	path = strings.ReplaceAll(path, "{id}", "no-such-id")
	return method, path
}

// Every route refuses unsafe cross-site requests, and none of those
// requests changes a row. The Stripe webhook, exempt because its
// signature authenticates it, refuses them for want of one.
func TestCrossSiteUnsafeRequestsRefused(t *testing.T) {
	for _, opts := range checkoutOptions("") {
		for _, dialect := range dbtest.Dialects {
			t.Run(checkoutName(dialect, opts), func(t *testing.T) {
				a := newApp(t, dialect, opts)
				before := tableCounts(t, a.db)
				for _, rt := range routeTableForTest(a) {
					method, path := concretePath(rt.pattern)
					for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
						want := http.StatusForbidden
						if rt.access == stripeSigned {
							if m != method {
								continue // another method is the 405 of a route that is not reached
							}
							want = http.StatusBadRequest
						}
						for header, value := range map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"} {
							r := httptest.NewRequest(m, path, strings.NewReader(validForm().Encode()))
							r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
							r.Header.Set(header, value)
							resp, _ := a.do(r)
							assert.Equal(t, want, resp.StatusCode, "%s %s with %s: %s = %d, want %d", m, path, header, value, resp.StatusCode, want)
						}
					}
				}
				n := countMessages(t, a.db)
				require.Equal(t, 0, n, "cross-site requests stored %d messages", n)
				require.Equal(t, fmt.Sprint(before), fmt.Sprint(tableCounts(t, a.db)), "cross-site requests changed row counts")
			})
		}
	}
}

func TestGETChangesNothing(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := migratedApp(t, dialect)
			for _, rt := range routeTableForTest(a) {
				method, path := concretePath(rt.pattern)
				if method != "" && method != http.MethodGet {
					continue
				}
				resp, _ := a.do(get(path))
				assert.Less(t, resp.StatusCode, 500, "GET %s = %d", path, resp.StatusCode)
			}
			n := countMessages(t, a.db)
			require.Equal(t, 0, n, "GET requests stored %d messages", n)
		})
	}
}

func TestEveryRouteHasAKnownAccessClass(t *testing.T) {
	for _, opts := range checkoutOptions("") {
		var patterns []string
		for _, rt := range routeTableForTest(newApp(t, database.SQLite, opts)) {
			assert.Contains(t, []access{public, signedIn, adminOnly, apiClient, stripeSigned, shareLink}, rt.access, "route %q has unknown access class %q", rt.pattern, rt.access)
			patterns = append(patterns, rt.pattern)
		}
		// The walks built on checkoutOptions reach the fake's routes.
		for _, dev := range []string{"GET /dev/checkout/{id}", "POST /dev/checkout/{id}/pay"} {
			assert.Equal(t, opts.fake, slices.Contains(patterns, dev), "%s served with fake=%v", dev, opts.fake)
		}
	}
}

func TestContactForm(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := migratedApp(t, dialect)

			// Full-page POST with problems: 422, the page with each problem inline.
			resp, body := a.do(post("/contact", url.Values{"name": {"Ada"}, "email": {"not-an-address"}, "message": {"short"}}))
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "invalid POST = %d, want 422", resp.StatusCode)
			for _, want := range []string{"<html", "Enter an email address", "Write at least 10 characters", `aria-invalid="true"`, `value="Ada"`} {
				assert.Contains(t, body, want, "invalid POST page lacks %q", want)
			}

			// The same through htmx: only the form comes back.
			resp, body = a.do(asHTMX(post("/contact", url.Values{"email": {"ada@example.com"}})))
			require.Equal(t, http.StatusOK, resp.StatusCode, "htmx invalid POST = %d, want 200 with the form fragment:\n%s", resp.StatusCode, body)
			require.NotContains(t, body, "<html", "htmx invalid POST = %d, want 200 with the form fragment:\n%s", resp.StatusCode, body)
			require.Contains(t, body, `<form id="contact-form"`, "htmx invalid POST = %d, want 200 with the form fragment:\n%s", resp.StatusCode, body)
			assert.Contains(t, body, "This field is required.", "htmx fragment lacks the problems or the kept value:\n%s", body)
			assert.Contains(t, body, `value="ada@example.com"`, "htmx fragment lacks the problems or the kept value:\n%s", body)
			n := countMessages(t, a.db)
			require.Equal(t, 0, n, "invalid submissions stored %d messages", n)

			// Valid without JavaScript: stored, redirected, flashed once.
			resp, _ = a.do(post("/contact", validForm()))
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "valid POST = %d to %q, want 303 to /contact", resp.StatusCode, resp.Header.Get("Location"))
			require.Equal(t, "/contact", resp.Header.Get("Location"), "valid POST = %d to %q, want 303 to /contact", resp.StatusCode, resp.Header.Get("Location"))
			var flash *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "flash" {
					flash = c
				}
			}
			require.NotNil(t, flash, "flash cookie = %+v, want HttpOnly and SameSite=Lax", flash)
			require.True(t, flash.HttpOnly, "flash cookie = %+v, want HttpOnly and SameSite=Lax", flash)
			require.Equal(t, http.SameSiteLaxMode, flash.SameSite, "flash cookie = %+v, want HttpOnly and SameSite=Lax", flash)
			next := get("/contact")
			next.AddCookie(flash)
			_, body = a.do(next)
			assert.Contains(t, body, "Thank you, Ada Lovelace.", "page after the redirect lacks the flash")
			forged := get("/contact")
			forged.AddCookie(&http.Cookie{Name: "flash", Value: strings.Replace(flash.Value, ".", "x.", 1)})
			_, body = a.do(forged)
			assert.NotContains(t, body, "Thank you", "a tampered flash cookie was shown")

			// Valid through htmx: the thank-you fragment.
			resp, body = a.do(asHTMX(post("/contact", validForm())))
			require.Equal(t, http.StatusOK, resp.StatusCode, "htmx valid POST = %d:\n%s", resp.StatusCode, body)
			require.Contains(t, body, "Thank you, Ada Lovelace.", "htmx valid POST = %d:\n%s", resp.StatusCode, body)
			require.NotContains(t, body, "<html", "htmx valid POST = %d:\n%s", resp.StatusCode, body)

			msgs, err := contact.NewStore(a.db, a.clock).Recent(context.Background(), 10)
			require.NoError(t, err)
			require.Len(t, msgs, 2, "stored messages = %+v, want the two valid submissions", msgs)
			require.Equal(t, "ada@example.com", msgs[0].Email, "stored messages = %+v, want the two valid submissions", msgs)
			require.Equal(t, validForm().Get("message"), msgs[0].Body, "stored messages = %+v, want the two valid submissions", msgs)
			assert.NotContains(t, a.logs.String(), "ada@example.com", "the visitor's address reached the log")
		})
	}
}

func TestContactFieldValidation(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	r := asHTMX(post("/contact/validate", url.Values{"email": {"nope"}, "name": {""}}))
	r.Header.Set("HX-Trigger-Name", "email")
	resp, body := a.do(r)
	require.Equal(t, http.StatusOK, resp.StatusCode, "validate email = %d, want only the email field's problem:\n%s", resp.StatusCode, body)
	require.Contains(t, body, "Enter an email address", "validate email = %d, want only the email field's problem:\n%s", resp.StatusCode, body)
	require.NotContains(t, body, "This field is required.", "validate email = %d, want only the email field's problem:\n%s", resp.StatusCode, body)
	// Only the line under the input: swapping the input itself would replace
	// what the visitor typed while the check ran.
	assert.True(t, strings.HasPrefix(body, `<p class="help is-danger">`), "validate returned more than the field's feedback line:\n%s", body)
	assert.NotContains(t, body, "<input", "validate returned more than the field's feedback line:\n%s", body)

	r = asHTMX(post("/contact/validate", url.Values{"email": {"ada@example.com"}}))
	r.Header.Set("HX-Trigger-Name", "email")
	_, body = a.do(r)
	assert.NotContains(t, body, "is-danger", "a valid address is marked as a problem:\n%s", body)

	r = asHTMX(post("/contact/validate", url.Values{}))
	r.Header.Set("HX-Trigger-Name", "password")
	resp, _ = a.do(r)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "validate of an unknown field = %d, want 400", resp.StatusCode)
}

func TestContactBodyLimit(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	form := validForm()
	form.Set("message", strings.Repeat("a", contact.MaxFormBytes))
	resp, body := a.do(post("/contact", form))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "oversized POST = %d, want the styled 413", resp.StatusCode)
	require.Contains(t, body, "too much", "oversized POST = %d, want the styled 413", resp.StatusCode)
	n := countMessages(t, a.db)
	require.Equal(t, 0, n, "oversized POST stored %d messages", n)
}

func TestHostileValuesAreEscaped(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	hostile := `"><script>alert(1)</script>`
	_, body := a.do(post("/contact", url.Values{"name": {hostile}, "email": {hostile}, "message": {hostile}}))
	require.NotContains(t, body, "<script>alert(1)", "a submitted value reached the page unescaped")
	require.NotContains(t, body, `"><script`, "a submitted value reached the page unescaped")
}

var (
	tagPattern  = regexp.MustCompile(`<(?:script|link|img)\b[^>]*>`)
	urlPattern  = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	sriPattern  = regexp.MustCompile(`integrity="([^"]+)"`)
	hashPattern = regexp.MustCompile(`^/static/.+\.[0-9a-f]{8}(\.[a-z]+)?$`)
)

func findAssetURLs(t *testing.T, a *app) []string {
	t.Helper()
	_, body := a.do(get("/"))
	var urls []string
	for _, tag := range tagPattern.FindAllString(body, -1) {
		if m := urlPattern.FindStringSubmatch(tag); m != nil {
			urls = append(urls, html.UnescapeString(m[1]))
		}
	}
	require.GreaterOrEqual(t, len(urls), 5, "home page references %d assets, want the stylesheets, scripts and logo", len(urls))
	return urls
}

func TestStaticAssetsHashedCachedAndIntact(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	_, page := a.do(get("/"))
	for _, tag := range tagPattern.FindAllString(page, -1) {
		src := html.UnescapeString(urlPattern.FindStringSubmatch(tag)[1])
		if !assert.Regexp(t, hashPattern, src, "asset %q is not under a content-hashed /static/ name", src) {
			continue
		}
		resp, body := a.do(get(src))
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s = %d", src, resp.StatusCode)
		cc := resp.Header.Get("Cache-Control")
		assert.Equal(t, "public, max-age=31536000, immutable", cc, "GET %s Cache-Control = %q", src, cc)
		// Integrity applies to scripts and stylesheets, not to images.
		if strings.HasPrefix(tag, "<img") || strings.Contains(tag, `rel="icon"`) {
			continue
		}
		m := sriPattern.FindStringSubmatch(tag)
		if !assert.NotNil(t, m, "%s has no integrity attribute", tag) {
			continue
		}
		sum := sha512.Sum384([]byte(body))
		want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
		assert.Equal(t, want, html.UnescapeString(m[1]), "%s integrity = %s, body hashes to %s", src, m[1], want)
	}

	// Compressed when asked, byte-identical once decompressed.
	css := findAssetURLs(t, a)[1]
	r := get(css)
	r.Header.Set("Accept-Encoding", "gzip")
	resp, zipped := a.do(r)
	_, plain := a.do(get(css))
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "GET %s with gzip: encoding %q, same bytes %v", css, resp.Header.Get("Content-Encoding"), zipped == plain)
	assert.Equal(t, plain, zipped, "GET %s with gzip: encoding %q, same bytes %v", css, resp.Header.Get("Content-Encoding"), zipped == plain)

	// The plain name works, but must be revalidated.
	resp, _ = a.do(get("/static/css/app.css"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET /static/css/app.css = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), "GET /static/css/app.css = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
}

func TestPagesAreCompressed(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	r := get("/")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	resp, body := a.do(r)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "GET / with gzip: encoding %q", resp.Header.Get("Content-Encoding"))
	require.Contains(t, body, "<!doctype html>", "GET / with gzip: encoding %q", resp.Header.Get("Content-Encoding"))
	r.Header.Set("Accept-Encoding", "gzip;q=0")
	resp, _ = a.do(r)
	assert.Equal(t, "", resp.Header.Get("Content-Encoding"), "gzip;q=0 still got %q", resp.Header.Get("Content-Encoding"))

	// A body that fits in a packet goes as it is, with its length.
	r = get("/api/v1/balance")
	r.Header.Set("Accept-Encoding", "gzip")
	resp, body = a.do(r)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "small API answer: %d, encoding %q, length %q for %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
	assert.Equal(t, "", resp.Header.Get("Content-Encoding"), "small API answer: %d, encoding %q, length %q for %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
	assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"), "small API answer: %d, encoding %q, length %q for %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
	assert.Less(t, len(body), middleware.MinCompressed, "small API answer: %d, encoding %q, length %q for %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
}

func TestReadiness(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			behind := newApp(t, dialect, options{})
			resp, body := behind.do(get("/readyz"))
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "readyz before migrations = %d %s, want 503 naming schema", resp.StatusCode, body)
			require.Contains(t, body, `"schema"`, "readyz before migrations = %d %s, want 503 naming schema", resp.StatusCode, body)
			resp, _ = behind.do(get("/livez"))
			require.Equal(t, http.StatusOK, resp.StatusCode, "livez = %d, want 200 whatever the schema", resp.StatusCode)

			a := migratedApp(t, dialect)
			resp, body = a.do(get("/readyz"))
			require.Equal(t, http.StatusOK, resp.StatusCode, "readyz = %d %s, want 200", resp.StatusCode, body)
			a.checker.Drain()
			resp, body = a.do(get("/readyz"))
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "readyz while draining = %d %s, want 503", resp.StatusCode, body)
			require.Contains(t, body, "shutdown", "readyz while draining = %d %s, want 503", resp.StatusCode, body)
			resp, _ = a.do(get("/"))
			require.Equal(t, http.StatusOK, resp.StatusCode, "GET / while draining = %d: in-flight and late requests must still be served", resp.StatusCode)
		})
	}
}

func TestRequestIDs(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	resp, _ := a.do(get("/about"))
	id := resp.Header.Get("X-Request-Id")
	require.NotEqual(t, "", id, "no X-Request-Id on the response")
	assert.Contains(t, a.logs.String(), `"request_id":"`+id+`"`, "access log lacks the request id %s:\n%s", id, a.logs.String())

	fromProxy := get("/")
	fromProxy.Header.Set("X-Request-Id", "proxy-id-123")
	resp, _ = a.do(fromProxy)
	assert.NotEqual(t, "proxy-id-123", resp.Header.Get("X-Request-Id"), "an untrusted client chose its request id")
	trusted := newApp(t, database.SQLite, options{migrated: true, trustProxy: true})
	resp, _ = trusted.do(fromProxy)
	assert.Equal(t, "proxy-id-123", resp.Header.Get("X-Request-Id"), "the trusted proxy's request id was not kept")
	forged := get("/")
	forged.Header.Set("X-Request-Id", "a\" injected=1")
	resp, _ = trusted.do(forged)
	assert.NotContains(t, resp.Header.Get("X-Request-Id"), "injected", "a malformed request id was kept")
}

// Row 52: behind a trusted proxy the client's address is the last entry of
// the last X-Forwarded-For line, the one the proxy wrote. Whatever a client
// puts before it, in the same line or in lines of its own, it is counted
// under its real address: here, the login failures per address.
func TestForgedForwardedForChangesNothing(t *testing.T) {
	for _, forge := range []struct {
		name  string
		lines func(i int) []string
	}{
		{"entries before the proxy's", func(i int) []string { return []string{fmt.Sprintf("198.51.100.%d, 192.0.2.7", i)} }},
		{"lines before the proxy's", func(i int) []string { return []string{fmt.Sprintf("198.51.100.%d", i), "192.0.2.7"} }},
	} {
		for _, dialect := range dbtest.Dialects {
			t.Run(forge.name+"/"+string(dialect), func(t *testing.T) {
				a := newApp(t, dialect, options{migrated: true, trustProxy: true})
				var codes []int
				for i := range accounts.LoginFailuresPerIP.Limit + 1 {
					// A new address each time, so the per-account limit never counts.
					r := post("/login", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password"}})
					for _, line := range forge.lines(i) {
						r.Header.Add("X-Forwarded-For", line)
					}
					resp, _ := a.do(r)
					codes = append(codes, resp.StatusCode)
				}
				want := slices.Repeat([]int{http.StatusUnauthorized}, accounts.LoginFailuresPerIP.Limit)
				require.Equal(t, append(want, http.StatusTooManyRequests), codes, "failed logins from 192.0.2.7 forging other addresses")
			})
		}
	}
}

// routeTableForTest lists the routes of the real table that a's
// configuration serves.
func routeTableForTest(a *app) []route {
	var served []route
	for _, rt := range newServer(a.deps).routes() {
		if rt.handler != nil {
			served = append(served, rt)
		}
	}
	return served
}

// BenchmarkHomePage measures one full request through the middleware,
// router and template, compressed as browsers ask for it.
func BenchmarkHomePage(b *testing.B) {
	a := migratedApp(b, database.SQLite)
	for b.Loop() {
		r := get("/")
		r.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, r)
		require.Equal(b, http.StatusOK, rec.Code, "GET / = %d", rec.Code)
	}
}
