package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
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
	logs    *syncBuffer
	acct    Accounts
	clock   *clock.Fake
	deps    Deps
}

type options struct {
	contacts   ContactStore
	trustProxy bool
	migrated   bool
	// baseURL defaults to http://example.com; https gives production cookies.
	baseURL string
}

func newApp(t testing.TB, dialect database.Dialect, opts options) *app {
	t.Helper()
	var db *database.DB
	if opts.migrated {
		db = dbtest.Open(t, dialect)
	} else {
		db = dbtest.OpenEmpty(t, dialect)
	}
	logs := &syncBuffer{}
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	logger := logging.New(logs, "json", slog.LevelDebug)
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := views.New(testAppName, assets, clk)
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db)
	if err != nil {
		t.Fatal(err)
	}
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
	deps := Deps{
		Logger: logger,
		Clock:  clk,
		Config: Config{
			BaseURL:           base,
			TrustProxyHeaders: opts.trustProxy,
			SecretKey:         []byte("0123456789abcdef0123456789abcdef"),
			Development:       true,
		},
		Views:    renderer,
		Assets:   assets,
		Health:   checker,
		Contacts: contacts,
		Accounts: testAccounts(t, db, logger, opts.baseURL, clk),
		Credits:  testCredits(t, db, logger, clk),
	}
	h, err := NewServer(deps)
	if err != nil {
		t.Fatal(err)
	}
	return &app{handler: h, db: db, checker: checker, logs: logs, acct: deps.Accounts, clock: clk, deps: deps}
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
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM contact_messages").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPages(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := migratedApp(t, dialect)
			for _, path := range []string{"/", "/about", "/contact"} {
				resp, body := a.do(get(path))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d, want 200", path, resp.StatusCode)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("GET %s Content-Type = %q", path, ct)
				}
				for _, want := range []string{testAppName, `<a class="skip-link" href="#main">`, "<header", "<nav", `<main id="main"`, "<footer", `aria-current="page"`} {
					if !strings.Contains(body, want) {
						t.Errorf("GET %s: page lacks %q", path, want)
					}
				}
			}
		})
	}
}

func TestNotFoundIsStyled(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	for _, r := range []*http.Request{get("/no-such-page"), get("/static/css/missing.css"), post("/no-such-form", nil)} {
		resp, body := a.do(r)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s %s = %d, want 404", r.Method, r.URL.Path, resp.StatusCode)
		}
		if !strings.Contains(body, "Page not found") || !strings.Contains(body, `class="section error-page"`) {
			t.Errorf("%s %s: 404 is not the styled page:\n%s", r.Method, r.URL.Path, body)
		}
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
			if resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", resp.StatusCode)
			}
			if !strings.Contains(body, "Something went wrong") {
				t.Errorf("500 is not the styled page:\n%s", body)
			}
			for _, leak := range []string{"goroutine", "secret internal detail", "panic", ".go:"} {
				if strings.Contains(body, leak) {
					t.Errorf("500 page leaks %q to the client", leak)
				}
			}
			id := resp.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(body, id) {
				t.Errorf("500 page does not quote the request id %q", id)
			}
			logs := a.logs.String()
			if !strings.Contains(logs, "panic serving request") || !strings.Contains(logs, `"request_id":"`+id+`"`) {
				t.Errorf("panic not logged with its request id:\n%s", logs)
			}
			if resp, _ := a.do(get("/")); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET / after a panic = %d, want 200", resp.StatusCode)
			}
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
			if resp.StatusCode != tc.wantSts {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantSts)
			}
			for name, want := range wantHeaders {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if resp.Header.Get("Permissions-Policy") == "" {
				t.Error("Permissions-Policy missing")
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS sent over plain HTTP")
			}
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
		if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tc.want {
			t.Errorf("%s: HSTS present = %v, want %v", tc.name, got, tc.want)
		}
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
// requests changes a row.
func TestCrossSiteUnsafeRequestsRefused(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := migratedApp(t, dialect)
			for _, rt := range routeTableForTest(a) {
				_, path := concretePath(rt.pattern)
				for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
					for header, value := range map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"} {
						r := httptest.NewRequest(method, path, strings.NewReader(validForm().Encode()))
						r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						r.Header.Set(header, value)
						resp, _ := a.do(r)
						if resp.StatusCode != http.StatusForbidden {
							t.Errorf("%s %s with %s: %s = %d, want 403", method, path, header, value, resp.StatusCode)
						}
					}
				}
			}
			if n := countMessages(t, a.db); n != 0 {
				t.Fatalf("cross-site requests stored %d messages", n)
			}
		})
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
				if resp, _ := a.do(get(path)); resp.StatusCode >= 500 {
					t.Errorf("GET %s = %d", path, resp.StatusCode)
				}
			}
			if n := countMessages(t, a.db); n != 0 {
				t.Fatalf("GET requests stored %d messages", n)
			}
		})
	}
}

func TestEveryRouteHasAKnownAccessClass(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	for _, rt := range routeTableForTest(a) {
		if rt.access != public && rt.access != signedIn && rt.access != adminOnly && rt.access != apiClient {
			t.Errorf("route %q has unknown access class %q", rt.pattern, rt.access)
		}
	}
}

func TestContactForm(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			a := migratedApp(t, dialect)

			// Full-page POST with problems: 422, the page with each problem inline.
			resp, body := a.do(post("/contact", url.Values{"name": {"Ada"}, "email": {"not-an-address"}, "message": {"short"}}))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("invalid POST = %d, want 422", resp.StatusCode)
			}
			for _, want := range []string{"<html", "Enter an email address", "Write at least 10 characters", `aria-invalid="true"`, `value="Ada"`} {
				if !strings.Contains(body, want) {
					t.Errorf("invalid POST page lacks %q", want)
				}
			}

			// The same through htmx: only the form comes back.
			resp, body = a.do(asHTMX(post("/contact", url.Values{"email": {"ada@example.com"}})))
			if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `<form id="contact-form"`) {
				t.Fatalf("htmx invalid POST = %d, want 200 with the form fragment:\n%s", resp.StatusCode, body)
			}
			if !strings.Contains(body, "This field is required.") || !strings.Contains(body, `value="ada@example.com"`) {
				t.Errorf("htmx fragment lacks the problems or the kept value:\n%s", body)
			}
			if n := countMessages(t, a.db); n != 0 {
				t.Fatalf("invalid submissions stored %d messages", n)
			}

			// Valid without JavaScript: stored, redirected, flashed once.
			resp, _ = a.do(post("/contact", validForm()))
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contact" {
				t.Fatalf("valid POST = %d to %q, want 303 to /contact", resp.StatusCode, resp.Header.Get("Location"))
			}
			var flash *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "flash" {
					flash = c
				}
			}
			if flash == nil || !flash.HttpOnly || flash.SameSite != http.SameSiteLaxMode {
				t.Fatalf("flash cookie = %+v, want HttpOnly and SameSite=Lax", flash)
			}
			next := get("/contact")
			next.AddCookie(flash)
			_, body = a.do(next)
			if !strings.Contains(body, "Thank you, Ada Lovelace.") {
				t.Errorf("page after the redirect lacks the flash")
			}
			forged := get("/contact")
			forged.AddCookie(&http.Cookie{Name: "flash", Value: strings.Replace(flash.Value, ".", "x.", 1)})
			if _, body = a.do(forged); strings.Contains(body, "Thank you") {
				t.Errorf("a tampered flash cookie was shown")
			}

			// Valid through htmx: the thank-you fragment.
			resp, body = a.do(asHTMX(post("/contact", validForm())))
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Thank you, Ada Lovelace.") || strings.Contains(body, "<html") {
				t.Fatalf("htmx valid POST = %d:\n%s", resp.StatusCode, body)
			}

			msgs, err := contact.NewStore(a.db, a.clock).Recent(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 2 || msgs[0].Email != "ada@example.com" || msgs[0].Body != validForm().Get("message") {
				t.Fatalf("stored messages = %+v, want the two valid submissions", msgs)
			}
			if strings.Contains(a.logs.String(), "ada@example.com") {
				t.Error("the visitor's address reached the log")
			}
		})
	}
}

func TestContactFieldValidation(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	r := asHTMX(post("/contact/validate", url.Values{"email": {"nope"}, "name": {""}}))
	r.Header.Set("HX-Trigger-Name", "email")
	resp, body := a.do(r)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Enter an email address") || strings.Contains(body, "This field is required.") {
		t.Fatalf("validate email = %d, want only the email field's problem:\n%s", resp.StatusCode, body)
	}
	// Only the line under the input: swapping the input itself would replace
	// what the visitor typed while the check ran.
	if !strings.HasPrefix(body, `<p class="help is-danger">`) || strings.Contains(body, "<input") {
		t.Errorf("validate returned more than the field's feedback line:\n%s", body)
	}

	r = asHTMX(post("/contact/validate", url.Values{"email": {"ada@example.com"}}))
	r.Header.Set("HX-Trigger-Name", "email")
	if _, body = a.do(r); strings.Contains(body, "is-danger") {
		t.Errorf("a valid address is marked as a problem:\n%s", body)
	}

	r = asHTMX(post("/contact/validate", url.Values{}))
	r.Header.Set("HX-Trigger-Name", "password")
	if resp, _ = a.do(r); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("validate of an unknown field = %d, want 400", resp.StatusCode)
	}
}

func TestContactBodyLimit(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	form := validForm()
	form.Set("message", strings.Repeat("a", contact.MaxFormBytes))
	resp, body := a.do(post("/contact", form))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "too much") {
		t.Fatalf("oversized POST = %d, want the styled 413", resp.StatusCode)
	}
	if n := countMessages(t, a.db); n != 0 {
		t.Fatalf("oversized POST stored %d messages", n)
	}
}

func TestHostileValuesAreEscaped(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	hostile := `"><script>alert(1)</script>`
	_, body := a.do(post("/contact", url.Values{"name": {hostile}, "email": {hostile}, "message": {hostile}}))
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, `"><script`) {
		t.Fatalf("a submitted value reached the page unescaped")
	}
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
	if len(urls) < 5 {
		t.Fatalf("home page references %d assets, want the stylesheets, scripts and logo", len(urls))
	}
	return urls
}

func TestStaticAssetsHashedCachedAndIntact(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	_, page := a.do(get("/"))
	for _, tag := range tagPattern.FindAllString(page, -1) {
		src := html.UnescapeString(urlPattern.FindStringSubmatch(tag)[1])
		if !hashPattern.MatchString(src) {
			t.Errorf("asset %q is not under a content-hashed /static/ name", src)
			continue
		}
		resp, body := a.do(get(src))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", src, resp.StatusCode)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s Cache-Control = %q", src, cc)
		}
		// Integrity applies to scripts and stylesheets, not to images.
		if strings.HasPrefix(tag, "<img") || strings.Contains(tag, `rel="icon"`) {
			continue
		}
		m := sriPattern.FindStringSubmatch(tag)
		if m == nil {
			t.Errorf("%s has no integrity attribute", tag)
			continue
		}
		sum := sha512.Sum384([]byte(body))
		if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); html.UnescapeString(m[1]) != want {
			t.Errorf("%s integrity = %s, body hashes to %s", src, m[1], want)
		}
	}

	// Compressed when asked, byte-identical once decompressed.
	css := findAssetURLs(t, a)[1]
	r := get(css)
	r.Header.Set("Accept-Encoding", "gzip")
	resp, zipped := a.do(r)
	_, plain := a.do(get(css))
	if resp.Header.Get("Content-Encoding") != "gzip" || zipped != plain {
		t.Errorf("GET %s with gzip: encoding %q, same bytes %v", css, resp.Header.Get("Content-Encoding"), zipped == plain)
	}

	// The plain name works, but must be revalidated.
	resp, _ = a.do(get("/static/css/app.css"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET /static/css/app.css = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestPagesAreCompressed(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	r := get("/")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	resp, body := a.do(r)
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, "<!doctype html>") {
		t.Fatalf("GET / with gzip: encoding %q", resp.Header.Get("Content-Encoding"))
	}
	r.Header.Set("Accept-Encoding", "gzip;q=0")
	if resp, _ := a.do(r); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 still got %q", resp.Header.Get("Content-Encoding"))
	}

	// A body that fits in a packet goes as it is, with its length.
	r = get("/api/v1/balance")
	r.Header.Set("Accept-Encoding", "gzip")
	resp, body = a.do(r)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Encoding") != "" ||
		resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) || len(body) >= middleware.MinCompressed {
		t.Errorf("small API answer: %d, encoding %q, length %q for %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(body))
	}
}

func TestReadiness(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			behind := newApp(t, dialect, options{})
			resp, body := behind.do(get("/readyz"))
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"schema"`) {
				t.Fatalf("readyz before migrations = %d %s, want 503 naming schema", resp.StatusCode, body)
			}
			if resp, _ := behind.do(get("/livez")); resp.StatusCode != http.StatusOK {
				t.Fatalf("livez = %d, want 200 whatever the schema", resp.StatusCode)
			}

			a := migratedApp(t, dialect)
			if resp, body := a.do(get("/readyz")); resp.StatusCode != http.StatusOK {
				t.Fatalf("readyz = %d %s, want 200", resp.StatusCode, body)
			}
			a.checker.Drain()
			resp, body = a.do(get("/readyz"))
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "shutdown") {
				t.Fatalf("readyz while draining = %d %s, want 503", resp.StatusCode, body)
			}
			if resp, _ := a.do(get("/")); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET / while draining = %d: in-flight and late requests must still be served", resp.StatusCode)
			}
		})
	}
}

func TestRequestIDs(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	resp, _ := a.do(get("/about"))
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id on the response")
	}
	if !strings.Contains(a.logs.String(), `"request_id":"`+id+`"`) {
		t.Errorf("access log lacks the request id %s:\n%s", id, a.logs.String())
	}

	fromProxy := get("/")
	fromProxy.Header.Set("X-Request-Id", "proxy-id-123")
	if resp, _ := a.do(fromProxy); resp.Header.Get("X-Request-Id") == "proxy-id-123" {
		t.Error("an untrusted client chose its request id")
	}
	trusted := newApp(t, database.SQLite, options{migrated: true, trustProxy: true})
	if resp, _ := trusted.do(fromProxy); resp.Header.Get("X-Request-Id") != "proxy-id-123" {
		t.Error("the trusted proxy's request id was not kept")
	}
	forged := get("/")
	forged.Header.Set("X-Request-Id", "a\" injected=1")
	if resp, _ := trusted.do(forged); strings.Contains(resp.Header.Get("X-Request-Id"), "injected") {
		t.Error("a malformed request id was kept")
	}
}

// routeTableForTest lists the routes of the real table.
func routeTableForTest(a *app) []route { return newServer(a.deps).routes() }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
		if rec.Code != http.StatusOK {
			b.Fatalf("GET / = %d", rec.Code)
		}
	}
}
