package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/quickscale/quickscale/internal/appcontract"
)

// This file checks a served HTML page the way a browser would load it: every
// URL it references must stay on the app's origin, what a browser fetches
// must answer 200 with the content its integrity attribute promises, and
// vendored files must be exactly the ones quickscale embeds.

// ref is one URL the page makes the browser request, or lets the user
// request: a script, stylesheet, icon, image, link, form or htmx request.
type ref struct {
	element, attr, url string
	method             string // GET, or a form's or htmx attribute's method
	integrity          string // a Subresource Integrity value, if any
}

type page struct {
	title       string
	stylesheets []string
	refs        []ref
}

// htmxAttrs maps htmx's request attributes to their methods.
var htmxAttrs = map[string]string{
	"hx-get": http.MethodGet, "hx-post": http.MethodPost, "hx-put": http.MethodPut,
	"hx-patch": http.MethodPatch, "hx-delete": http.MethodDelete,
}

func parsePage(body []byte) (page, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return page{}, fmt.Errorf("parse the page: %w", err)
	}
	var p page
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attr := func(key string) (string, bool) {
			for _, a := range n.Attr {
				if a.Namespace == "" && a.Key == key {
					return a.Val, true
				}
			}
			return "", false
		}
		add := func(key, method string) {
			if v, ok := attr(key); ok {
				sri, _ := attr("integrity")
				p.refs = append(p.refs, ref{element: n.Data, attr: key, url: v, method: method, integrity: sri})
			}
		}
		switch n.DataAtom {
		case atom.Title:
			if n.FirstChild != nil {
				p.title = n.FirstChild.Data
			}
		case atom.Link:
			add("href", http.MethodGet)
			if rel, _ := attr("rel"); slices.Contains(strings.Fields(strings.ToLower(rel)), "stylesheet") {
				href, _ := attr("href")
				p.stylesheets = append(p.stylesheets, href)
			}
		case atom.Script, atom.Img, atom.Source, atom.Iframe, atom.Audio, atom.Video, atom.Embed:
			add("src", http.MethodGet)
		case atom.A, atom.Area:
			add("href", http.MethodGet)
		case atom.Form:
			method, _ := attr("method")
			method = strings.ToUpper(method)
			if method == "" {
				method = http.MethodGet
			}
			if _, ok := attr("action"); ok {
				add("action", method)
			} else {
				// A form without an action submits to the page itself.
				p.refs = append(p.refs, ref{element: "form", attr: "action", url: "", method: method})
			}
		}
		for key, method := range htmxAttrs {
			add(key, method)
		}
	}
	return p, nil
}

// checkReferences returns every problem with refs, found on a page served
// at base: a URL off base's origin, a fetch that does not answer 200, a
// resource that does not match its integrity attribute, a form whose route
// does not exist, and whatever vendored reports about a fetched file.
func checkReferences(ctx context.Context, client *http.Client, base string, refs []ref, vendored func(urlPath string, body []byte) string) []string {
	origin, err := url.Parse(base + "/")
	if err != nil {
		return []string{fmt.Sprintf("base URL %q: %v", base, err)}
	}
	var problems []string
	checked := map[string]bool{}
	for _, r := range refs {
		where := fmt.Sprintf("<%s %s=%q>", r.element, r.attr, r.url)
		report := func(format string, args ...any) {
			problems = append(problems, where+": "+fmt.Sprintf(format, args...))
		}
		u, err := origin.Parse(strings.TrimSpace(r.url))
		if err != nil {
			report("not a URL: %v", err)
			continue
		}
		switch u.Scheme {
		case "mailto", "tel":
			continue // handed to another application, not requested
		case "data":
			if r.element == "img" {
				continue // inline content, no request
			}
		}
		if u.Scheme != origin.Scheme || u.Host != origin.Host {
			report("leaves the app's origin %s://%s; every request must stay on it", origin.Scheme, origin.Host)
			continue
		}
		u.Fragment = ""
		key := r.method + " " + u.String() + " " + r.integrity
		if checked[key] {
			continue
		}
		checked[key] = true

		status, body, err := fetch(ctx, client, r.method, u.String())
		if err != nil {
			report("%v", err)
			continue
		}
		if r.method != http.MethodGet {
			// A real submission needs its fields and a browser's headers;
			// the route must at least exist and take this method.
			if status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status >= 500 {
				report("%s %s = %d: no route takes this submission", r.method, u.Path, status)
			}
			continue
		}
		if status != http.StatusOK {
			report("GET %s = %d, want 200", u.Path, status)
			continue
		}
		if r.integrity != "" {
			if err := checkIntegrity(r.integrity, body); err != nil {
				report("%v", err)
			}
		}
		if vendored != nil {
			if problem := vendored(u.Path, body); problem != "" {
				report("%s", problem)
			}
		}
	}
	return problems
}

func fetch(ctx context.Context, client *http.Client, method, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read the body: %w", method, u, err)
	}
	return resp.StatusCode, body, nil
}

func mustGet(t *testing.T, client *http.Client, u string) (int, []byte) {
	t.Helper()
	status, body, err := fetch(t.Context(), client, http.MethodGet, u)
	require.NoError(t, err)
	return status, body
}

// checkIntegrity verifies a Subresource Integrity attribute as a browser
// does: the resource must match one of the listed digests.
func checkIntegrity(integrity string, body []byte) error {
	hashes := map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}
	for _, item := range strings.Fields(integrity) {
		alg, want, ok := strings.Cut(item, "-")
		newHash, known := hashes[alg]
		if !ok || !known {
			continue
		}
		want, _, _ = strings.Cut(want, "?")
		h := newHash()
		h.Write(body)
		if base64.StdEncoding.EncodeToString(h.Sum(nil)) == want {
			return nil
		}
	}
	return fmt.Errorf("integrity %q does not match the %d bytes served: a browser would refuse the file", integrity, len(body))
}

// vendoredDist compares a served third-party file with the one that
// `make assets` verified from the npm release into the skeleton, so the app
// serves exactly that release.
func vendoredDist(urlPath string, body []byte) string {
	for _, file := range appcontract.ServedVendoredFiles() {
		if !isVendored(urlPath, file) {
			continue
		}
		want, err := os.ReadFile(filepath.Join(moduleRoot, "templates", "skeleton", filepath.FromSlash(appcontract.VendorDir), file))
		if err != nil {
			return fmt.Sprintf("read the embedded %s: %v", file, err)
		}
		if !bytes.Equal(body, want) {
			return fmt.Sprintf("serves %d bytes that differ from quickscale's %s (%d bytes)", len(body), file, len(want))
		}
	}
	return ""
}

// isVendored reports whether a URL path serves the vendored file, under its
// own name or a fingerprinted one ("bulma.min.3f9a1c.css").
func isVendored(urlPath, file string) bool {
	base, ext := path.Base(urlPath), path.Ext(file)
	stem := strings.TrimSuffix(file, ext)
	return base == file || (strings.HasPrefix(base, stem+".") && strings.HasSuffix(base, ext))
}

func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

// sameOriginClient follows redirects only within base's origin: a redirect
// elsewhere would be a request to another host, which the page must never
// cause.
func sameOriginClient(t *testing.T, base string) *http.Client {
	origin, err := url.Parse(base)
	require.NoError(t, err)
	return &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
				return fmt.Errorf("redirect from %s to another origin: %s", via[len(via)-1].URL, req.URL)
			}
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return nil
		},
	}
}

// TestCheckReferences proves the checker that the generated app's home page
// must pass: a page with one instance of each problem is reported problem by
// problem, and the same page without them is clean.
func TestCheckReferences(t *testing.T) {
	t.Parallel()
	css := []byte("body{color:red}")
	sum := sha512.Sum384(css)
	sri := "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /app.css", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(css) })
	mux.HandleFunc("GET /about", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/about/", http.StatusSeeOther) })
	mux.HandleFunc("GET /about/", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
	})
	mux.HandleFunc("POST /contact", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnprocessableEntity) })
	mux.HandleFunc("GET /vendor/bulma.min.css", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(css) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	good := `<!doctype html><title>ok</title>
<link rel="stylesheet" href="/app.css" integrity="` + sri + `">
<a href="/about">about</a> <a href="#main">skip</a> <a href="mailto:a@example.com">mail</a>
<img src="data:image/png;base64,AAAA" alt="">
<form method="post" action="/contact"></form>`
	bad := good + `
<script src="https://cdn.example.com/htmx.js"></script>
<link rel="preconnect" href="//fonts.example.com">
<img src="/missing.png" alt="">
<link rel="stylesheet" href="/app.css" integrity="sha384-AAAA">
<a href="/away">away</a>
<form method="post" action="/nowhere"></form>
<button hx-delete="/contact">x</button>
<link rel="stylesheet" href="/vendor/bulma.min.css">`

	check := func(doc string) []string {
		p, err := parsePage([]byte(doc))
		require.NoError(t, err)
		vendored := func(urlPath string, body []byte) string {
			if isVendored(urlPath, "bulma.min.css") {
				return "not the embedded bulma"
			}
			return ""
		}
		return checkReferences(t.Context(), sameOriginClient(t, srv.URL), srv.URL, p.refs, vendored)
	}

	assert.Empty(t, check(good), "a clean page reported problems")
	problems := check(bad)
	for _, want := range []string{
		`<script src="https://cdn.example.com/htmx.js">: leaves the app's origin`,
		`<link href="//fonts.example.com">: leaves the app's origin`,
		`<img src="/missing.png">: GET /missing.png = 404`,
		`<link href="/app.css">: integrity "sha384-AAAA" does not match`,
		`<a href="/away">: GET http://` + strings.TrimPrefix(srv.URL, "http://") + `/away: Get "http://elsewhere.invalid/": redirect from`,
		`<form action="/nowhere">: POST /nowhere = 404`,
		`<button hx-delete="/contact">: DELETE /contact = 405`,
		`<link href="/vendor/bulma.min.css">: not the embedded bulma`,
	} {
		assert.True(t, slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }), "missing problem %q", want)
	}
	assert.Len(t, problems, 8, "got %d problems, want 8:\n%s", len(problems), strings.Join(problems, "\n"))
}
