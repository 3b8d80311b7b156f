// Package static serves the embedded CSS, JavaScript, images and vendored
// front-end libraries under content-hashed names, so browsers may cache them
// forever and a new build is fetched the moment it changes.
package static

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/web/middleware"
)

//go:embed css js img vendor
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// asset is one embedded file with its hashed name and precomputed
// compressed body.
type asset struct {
	name        string // css/app.css
	hashedName  string // css/app.3f9c2a1b.css
	contentType string
	body        []byte
	gzipped     []byte // nil when compression does not pay
	etag        string
	integrity   string
}

// Assets is the set of embedded files, indexed by plain and hashed name.
type Assets struct {
	byName   map[string]*asset
	byHashed map[string]*asset
}

// New reads every embedded file, hashes it and compresses what compresses.
func New() (*Assets, error) {
	return Load(files)
}

// Load indexes the files of fsys; tests use it with their own files.
func Load(fsys fs.FS) (*Assets, error) {
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		digest := sha512.Sum384(body)
		f := &asset{
			name:        name,
			hashedName:  hashedName(name, hex.EncodeToString(sum[:4])),
			contentType: contentType(name),
			body:        body,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
			integrity:   "sha384-" + base64.StdEncoding.EncodeToString(digest[:]),
		}
		if compressible(f.contentType) {
			if f.gzipped, err = middleware.Precompress(body); err != nil {
				return fmt.Errorf("compress %s: %w", name, err)
			}
		}
		a.byName[name] = f
		a.byHashed[f.hashedName] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	return a, nil
}

// URL returns the hashed URL of an asset, e.g. /static/css/app.3f9c2a1b.css
// for "css/app.css". Templates call it as: asset "css/app.css".
func (a *Assets) URL(name string) (string, error) {
	f, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return Prefix + f.hashedName, nil
}

// Integrity returns the Subresource Integrity value of an asset.
// Templates call it as: integrity "css/app.css".
func (a *Assets) Integrity(name string) (string, error) {
	f, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return f.integrity, nil
}

// Names lists the plain names of every asset.
func (a *Assets) Names() []string {
	names := make([]string, 0, len(a.byName))
	for name := range a.byName {
		names = append(names, name)
	}
	return names
}

// Handler serves GET /static/{path...}. Hashed names are cached for a year
// as immutable; plain names (linked from licences, or typed by hand) must
// be revalidated. Unknown names go to notFound.
func (a *Assets) Handler(notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("path")
		f, hashed := a.byHashed[name]
		if !hashed {
			f = a.byName[name]
		}
		if f == nil {
			notFound.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if hashed {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		h.Set("Content-Type", f.contentType)
		body, etag := f.body, f.etag
		// The compression middleware adds Vary: Accept-Encoding and leaves
		// a response that already has a Content-Encoding alone.
		if f.gzipped != nil && middleware.AcceptsGzip(r) && r.Header.Get("Range") == "" {
			h.Set("Content-Encoding", "gzip")
			body, etag = f.gzipped, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		}
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

func hashedName(name, hash string) string {
	ext := path.Ext(name)
	if ext == "" {
		return name + "." + hash
	}
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "text/plain; charset=utf-8"
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") ||
		strings.HasPrefix(contentType, "application/javascript") ||
		strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "image/svg+xml")
}
