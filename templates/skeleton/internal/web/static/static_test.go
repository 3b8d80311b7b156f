package static

import (
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := Load(fstest.MapFS{
		"css/site.css":  {Data: []byte(strings.Repeat("body { color: #123; }\n", 200))},
		"img/dot.png":   {Data: []byte("\x89PNG\r\n\x1a\nnot really")},
		"LICENSE-thing": {Data: []byte("MIT")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func serve(a *Assets, r *http.Request) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.Handle("GET /static/{path...}", a.Handler(http.NotFoundHandler()))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	return rec
}

func TestHashedNamesAndIntegrity(t *testing.T) {
	a := testAssets(t)
	url, err := a.URL("css/site.css")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "/static/css/site.") || !strings.HasSuffix(url, ".css") || len(url) != len("/static/css/site.12345678.css") {
		t.Fatalf("URL = %q, want /static/css/site.<8 hex>.css", url)
	}
	if u, _ := a.URL("LICENSE-thing"); !strings.HasPrefix(u, "/static/LICENSE-thing.") {
		t.Errorf("URL of a file without extension = %q", u)
	}
	sum := sha512.Sum384([]byte(strings.Repeat("body { color: #123; }\n", 200)))
	if got, _ := a.Integrity("css/site.css"); got != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("Integrity = %q", got)
	}
	if _, err := a.URL("css/missing.css"); err == nil {
		t.Error("URL of a missing asset did not fail")
	}
}

func TestHandler(t *testing.T) {
	a := testAssets(t)
	url, _ := a.URL("css/site.css")

	rec := serve(a, httptest.NewRequest(http.MethodGet, url, nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") || rec.Header().Get("Content-Encoding") != "" {
		t.Fatalf("GET %s = %d %v", url, rec.Code, rec.Header())
	}

	gz := httptest.NewRequest(http.MethodGet, url, nil)
	gz.Header.Set("Accept-Encoding", "br, gzip")
	rec = serve(a, gz)
	if rec.Header().Get("Content-Encoding") != "gzip" || rec.Body.Len() >= 200*22 {
		t.Errorf("gzip request: encoding %q, %d bytes", rec.Header().Get("Content-Encoding"), rec.Body.Len())
	}

	ranged := httptest.NewRequest(http.MethodGet, url, nil)
	ranged.Header.Set("Accept-Encoding", "gzip")
	ranged.Header.Set("Range", "bytes=0-3")
	if rec = serve(a, ranged); rec.Code != http.StatusPartialContent || rec.Body.String() != "body" {
		t.Errorf("range request = %d %q, want 206 of the plain bytes", rec.Code, rec.Body.String())
	}

	etag := serve(a, httptest.NewRequest(http.MethodGet, url, nil)).Header().Get("ETag")
	cond := httptest.NewRequest(http.MethodGet, url, nil)
	cond.Header.Set("If-None-Match", etag)
	if rec = serve(a, cond); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match = %d, want 304", rec.Code)
	}

	png, _ := a.URL("img/dot.png")
	pngGz := httptest.NewRequest(http.MethodGet, png, nil)
	pngGz.Header.Set("Accept-Encoding", "gzip")
	if rec = serve(a, pngGz); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("an image was compressed")
	}

	if rec = serve(a, httptest.NewRequest(http.MethodGet, "/static/css/site.css", nil)); rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("plain name = %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if rec = serve(a, httptest.NewRequest(http.MethodGet, "/static/css/site.00000000.css", nil)); rec.Code != http.StatusNotFound {
		t.Errorf("a stale hash = %d, want 404", rec.Code)
	}
}

func TestEmbeddedAssetsLoad(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"css/app.css", "js/app.js", "img/logo.svg", "vendor/htmx.min.js", "vendor/alpine-csp.min.js", "vendor/bulma.min.css"} {
		if _, err := a.URL(name); err != nil {
			t.Errorf("embedded asset %s: %v", name, err)
		}
	}
}
