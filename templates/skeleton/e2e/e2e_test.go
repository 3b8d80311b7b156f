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
)

var client = &http.Client{
	Timeout: 15 * time.Second,
	// Redirects are part of what is checked, not followed blindly.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func base(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv("E2E_BASE_URL")
	if raw == "" {
		t.Fatal("E2E_BASE_URL is not set: run E2E_BASE_URL=http://localhost:8000 go test -tags e2e ./e2e")
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || u.Host == "" {
		t.Fatalf("E2E_BASE_URL is %q: use the site's address, e.g. http://localhost:8000", raw)
	}
	return u
}

func fetch(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.Method, r.URL, err)
	}
	return resp, string(body)
}

func get(t *testing.T, target string) (*http.Response, string) {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fetch(t, r)
}

func TestHealth(t *testing.T) {
	b := base(t)
	for _, path := range []string{"/livez", "/readyz"} {
		resp, body := get(t, b.String()+path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
			t.Errorf("GET %s = %d %s, want 200 ok", path, resp.StatusCode, body)
		}
	}
}

func TestPublicPages(t *testing.T) {
	b := base(t)
	for _, path := range []string{"/", "/about", "/contact"} {
		resp, body := get(t, b.String()+path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<main") {
			t.Errorf("GET %s is not an HTML page", path)
		}
	}
	resp, body := get(t, b.String()+"/e2e-no-such-page")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") {
		t.Errorf("GET of a missing page = %d, want the styled 404", resp.StatusCode)
	}
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
		if err != nil || u.Host != b.Host {
			t.Errorf("home page links to another host: %s", m[1])
		}
	}
	tags := assetTag.FindAllString(page, -1)
	if len(tags) == 0 {
		t.Fatal("home page has no assets")
	}
	for _, tag := range tags {
		m := assetURL.FindStringSubmatch(tag)
		if m == nil {
			continue
		}
		u, err := b.Parse(html.UnescapeString(m[1]))
		if err != nil || u.Scheme != b.Scheme || u.Host != b.Host {
			t.Errorf("asset %s is not same-origin", m[1])
			continue
		}
		resp, _ := get(t, u.String())
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", u.Path, resp.StatusCode)
		}
		if strings.HasPrefix(u.Path, "/static/") && !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s Cache-Control = %q, want immutable", u.Path, resp.Header.Get("Cache-Control"))
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
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http") {
			t.Errorf("GET %s: CSP %q allows unsafe code or another origin", path, csp)
		}
		for name, want := range map[string]string{
			"X-Content-Type-Options":       "nosniff",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, name, got, want)
			}
		}
		if resp.Header.Get("Referrer-Policy") == "" || resp.Header.Get("Permissions-Policy") == "" {
			t.Errorf("GET %s: Referrer-Policy or Permissions-Policy missing", path)
		}
		if b.Scheme == "https" && resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("GET %s over HTTPS: no Strict-Transport-Security", path)
		}
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	b := base(t)
	form := url.Values{"name": {"e2e"}, "email": {"e2e@example.com"}, "message": {"must never be stored"}}
	r, err := http.NewRequest(http.MethodPost, b.String()+"/contact", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := fetch(t, r); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST /contact = %d, want 403", resp.StatusCode)
	}
}

// Inline validation answers without storing anything.
func TestContactFieldValidation(t *testing.T) {
	b := base(t)
	r, err := http.NewRequest(http.MethodPost, b.String()+"/contact/validate", strings.NewReader("email=not-an-address"))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", b.Scheme+"://"+b.Host)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("HX-Request", "true")
	r.Header.Set("HX-Trigger-Name", "email")
	resp, body := fetch(t, r)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Enter an email address") {
		t.Fatalf("POST /contact/validate = %d:\n%s", resp.StatusCode, body)
	}
}
