//go:build e2e

// Package e2e checks a running deployment of the application over HTTP:
//
//	E2E_BASE_URL=http://localhost:8000 go test -tags e2e ./e2e
//
// It only reads, apart from requests the server must refuse, so it is safe
// to point at production.
package e2e

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var client = &http.Client{
	Timeout: 15 * time.Second,
	// Redirects are part of what is checked, not followed blindly.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func base(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv("E2E_BASE_URL")
	require.NotEmpty(t, raw, "E2E_BASE_URL is not set: run E2E_BASE_URL=http://localhost:8000 go test -tags e2e ./e2e")
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	require.NoError(t, err, "E2E_BASE_URL is %q: use the site's address, e.g. http://localhost:8000", raw)
	require.NotEmpty(t, u.Host, "E2E_BASE_URL is %q: use the site's address, e.g. http://localhost:8000", raw)
	return u
}

func fetch(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := client.Do(r)
	require.NoError(t, err, "%s %s", r.Method, r.URL)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "%s %s: read body", r.Method, r.URL)
	return resp, string(body)
}

func get(t *testing.T, target string) (*http.Response, string) {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(t, err)
	return fetch(t, r)
}

func TestHealth(t *testing.T) {
	b := base(t)
	for _, path := range []string{"/livez", "/readyz"} {
		resp, body := get(t, b.String()+path)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path)
		assert.Contains(t, body, `"status":"ok"`, "GET %s", path)
	}
}

func TestPublicPages(t *testing.T) {
	b := base(t)
	for _, path := range []string{"/", "/about", "/contact"} {
		resp, body := get(t, b.String()+path)
		if !assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path) {
			continue
		}
		assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"), "GET %s: Content-Type %q, want an HTML page", path, resp.Header.Get("Content-Type"))
		assert.Contains(t, body, "<main", "GET %s is not a page", path)
	}
	resp, body := get(t, b.String()+"/e2e-no-such-page")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "GET of a missing page")
	assert.Contains(t, body, "Page not found", "GET of a missing page: want the styled 404")
}

var (
	assetTag = regexp.MustCompile(`<(?:script|link|img)\b[^>]*>`)
	assetURL = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	anyURL   = regexp.MustCompile(`(?:src|href|action)="((?:https?:)?//[^"]+)"`)
)

// Every script, stylesheet and image on the home page comes from this
// site and loads; no third party sees the visitor.
func TestAssetsAreSameOriginAndLoad(t *testing.T) {
	b := base(t)
	_, page := get(t, b.String()+"/")
	for _, m := range anyURL.FindAllStringSubmatch(page, -1) {
		u, err := b.Parse(html.UnescapeString(m[1]))
		if assert.NoError(t, err, m[1]) {
			assert.Equal(t, b.Host, u.Host, "home page links to another host: %s", m[1])
		}
	}
	tags := assetTag.FindAllString(page, -1)
	require.NotEmpty(t, tags, "home page has no assets")
	for _, tag := range tags {
		m := assetURL.FindStringSubmatch(tag)
		if m == nil {
			continue
		}
		u, err := b.Parse(html.UnescapeString(m[1]))
		if !assert.NoError(t, err, m[1]) || !assert.Equal(t, b.Scheme+"://"+b.Host, u.Scheme+"://"+u.Host, "asset %s is not same-origin", m[1]) {
			continue
		}
		resp, _ := get(t, u.String())
		assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", u.Path)
		if strings.HasPrefix(u.Path, "/static/") {
			assert.Contains(t, resp.Header.Get("Cache-Control"), "immutable", "GET %s Cache-Control", u.Path)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	b := base(t)
	_, page := get(t, b.String()+"/")
	targets := []string{"/", "/contact", "/e2e-no-such-page", "/readyz"}
	if m := assetURL.FindStringSubmatch(strings.Join(assetTag.FindAllString(page, -1), " ")); m != nil {
		targets = append(targets, html.UnescapeString(m[1]))
	}
	for _, path := range targets {
		resp, _ := get(t, b.String()+path)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			assert.Contains(t, csp, want, "GET %s: CSP", path)
		}
		assert.NotContains(t, csp, "unsafe-", "GET %s: CSP allows unsafe code", path)
		assert.NotContains(t, csp, "http", "GET %s: CSP allows another origin", path)
		for name, want := range map[string]string{
			"X-Content-Type-Options":       "nosniff",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			assert.Equal(t, want, resp.Header.Get(name), "GET %s: %s", path, name)
		}
		assert.NotEmpty(t, resp.Header.Get("Referrer-Policy"), "GET %s: Referrer-Policy missing", path)
		assert.NotEmpty(t, resp.Header.Get("Permissions-Policy"), "GET %s: Permissions-Policy missing", path)
		if b.Scheme == "https" {
			assert.NotEmpty(t, resp.Header.Get("Strict-Transport-Security"), "GET %s over HTTPS: no Strict-Transport-Security", path)
		}
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	b := base(t)
	form := url.Values{"name": {"e2e"}, "email": {"e2e@example.com"}, "message": {"must never be stored"}}
	r, err := http.NewRequest(http.MethodPost, b.String()+"/contact", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, _ := fetch(t, r)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "cross-site POST /contact")
}

// Inline validation answers without storing anything.
func TestContactFieldValidation(t *testing.T) {
	b := base(t)
	r, err := http.NewRequest(http.MethodPost, b.String()+"/contact/validate", strings.NewReader("email=not-an-address"))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", b.Scheme+"://"+b.Host)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("HX-Request", "true")
	r.Header.Set("HX-Trigger-Name", "email")
	resp, body := fetch(t, r)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "POST /contact/validate:\n%s", body)
	assert.Contains(t, body, "Enter an email address", "POST /contact/validate")
}
