package static

import (
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := Load(fstest.MapFS{
		"css/site.css":  {Data: []byte(strings.Repeat("body { color: #123; }\n", 200))},
		"img/dot.png":   {Data: []byte("\x89PNG\r\n\x1a\nnot really")},
		"LICENSE-thing": {Data: []byte("MIT")},
	})
	require.NoError(t, err)
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
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(url, "/static/css/site."), "URL = %q, want /static/css/site.<8 hex>.css", url)
	require.True(t, strings.HasSuffix(url, ".css"), "URL = %q, want /static/css/site.<8 hex>.css", url)
	require.Len(t, url, len("/static/css/site.12345678.css"), "URL = %q, want /static/css/site.<8 hex>.css", url)
	u, _ := a.URL("LICENSE-thing")
	assert.True(t, strings.HasPrefix(u, "/static/LICENSE-thing."), "URL of a file without extension = %q", u)
	sum := sha512.Sum384([]byte(strings.Repeat("body { color: #123; }\n", 200)))
	got, _ := a.Integrity("css/site.css")
	assert.Equal(t, "sha384-"+base64.StdEncoding.EncodeToString(sum[:]), got, "Integrity = %q", got)
	_, err = a.URL("css/missing.css")
	assert.Error(t, err, "URL of a missing asset did not fail")
}

func TestHandler(t *testing.T) {
	a := testAssets(t)
	url, _ := a.URL("css/site.css")

	rec := serve(a, httptest.NewRequest(http.MethodGet, url, nil))
	require.Equal(t, http.StatusOK, rec.Code, "GET %s = %d %v", url, rec.Code, rec.Header())
	require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), "GET %s = %d %v", url, rec.Code, rec.Header())
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css"), "GET %s = %d %v", url, rec.Code, rec.Header())
	require.Equal(t, "", rec.Header().Get("Content-Encoding"), "GET %s = %d %v", url, rec.Code, rec.Header())

	gz := httptest.NewRequest(http.MethodGet, url, nil)
	gz.Header.Set("Accept-Encoding", "br, gzip")
	rec = serve(a, gz)
	assert.Equal(t, "gzip", rec.Header().Get("Content-Encoding"), "gzip request: encoding %q, %d bytes", rec.Header().Get("Content-Encoding"), rec.Body.Len())
	assert.Less(t, rec.Body.Len(), 200*22, "gzip request: encoding %q, %d bytes", rec.Header().Get("Content-Encoding"), rec.Body.Len())

	ranged := httptest.NewRequest(http.MethodGet, url, nil)
	ranged.Header.Set("Accept-Encoding", "gzip")
	ranged.Header.Set("Range", "bytes=0-3")
	rec = serve(a, ranged)
	assert.Equal(t, http.StatusPartialContent, rec.Code, "range request = %d %q, want 206 of the plain bytes", rec.Code, rec.Body.String())
	assert.Equal(t, "body", rec.Body.String(), "range request = %d %q, want 206 of the plain bytes", rec.Code, rec.Body.String())

	etag := serve(a, httptest.NewRequest(http.MethodGet, url, nil)).Header().Get("ETag")
	cond := httptest.NewRequest(http.MethodGet, url, nil)
	cond.Header.Set("If-None-Match", etag)
	rec = serve(a, cond)
	assert.Equal(t, http.StatusNotModified, rec.Code, "If-None-Match = %d, want 304", rec.Code)

	png, _ := a.URL("img/dot.png")
	pngGz := httptest.NewRequest(http.MethodGet, png, nil)
	pngGz.Header.Set("Accept-Encoding", "gzip")
	rec = serve(a, pngGz)
	assert.Equal(t, "", rec.Header().Get("Content-Encoding"), "an image was compressed")

	rec = serve(a, httptest.NewRequest(http.MethodGet, "/static/css/site.css", nil))
	assert.Equal(t, 200, rec.Code, "plain name = %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "plain name = %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	rec = serve(a, httptest.NewRequest(http.MethodGet, "/static/css/site.00000000.css", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code, "a stale hash = %d, want 404", rec.Code)
}

func TestEmbeddedAssetsLoad(t *testing.T) {
	a, err := New()
	require.NoError(t, err)
	for _, name := range []string{"css/app.css", "js/app.js", "img/logo.svg", "vendor/htmx.min.js", "vendor/alpine-csp.min.js", "vendor/bulma.min.css"} {
		_, err := a.URL(name)
		assert.NoError(t, err, "embedded asset %s: %v", name, err)
	}
}
