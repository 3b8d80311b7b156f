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
	"sync/atomic"
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
	set atomic.Pointer[assetSet]
}

type assetSet struct {
	byName   map[string]*asset
	byHashed map[string]*asset
}

// New reads every embedded file, hashes it and compresses what compresses.
func New() (*Assets, error) {
	return Load(files)
}

// Load indexes the files of fsys: a copy of this directory on disk in
// development, or tests' own files.
func Load(fsys fs.FS) (*Assets, error) {
	a := &Assets{}
	if err := a.Reload(fsys); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload indexes the files of fsys again and serves them from now on; on
// an error the files before stay.
func (a *Assets) Reload(fsys fs.FS) error {
	before := a.set.Load()
	set := &assetSet{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		// A file that did not change keeps its hashes and compressed body:
		// compressing every file again made each development reload wait
		// for the vendored libraries.
		if before != nil {
			if f := before.byName[name]; f != nil && bytes.Equal(f.body, body) {
				set.byName[name] = f
				set.byHashed[f.hashedName] = f
				return nil
			}
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
		set.byName[name] = f
		set.byHashed[f.hashedName] = f
		return nil
	})
	if err != nil {
		return fmt.Errorf("load static assets: %w", err)
	}
	a.set.Store(set)
	return nil
}

// URL returns the hashed URL of an asset, e.g. /static/css/app.3f9c2a1b.css
// for "css/app.css". Templates call it as: asset "css/app.css".
func (a *Assets) URL(name string) (string, error) {
	f, ok := a.set.Load().byName[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return Prefix + f.hashedName, nil
}

// Integrity returns the Subresource Integrity value of an asset.
// Templates call it as: integrity "css/app.css".
func (a *Assets) Integrity(name string) (string, error) {
	f, ok := a.set.Load().byName[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return f.integrity, nil
}

// Names lists the plain names of every asset.
func (a *Assets) Names() []string {
	byName := a.set.Load().byName
	names := make([]string, 0, len(byName))
	for name := range byName {
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
		set := a.set.Load()
		f, hashed := set.byHashed[name]
		if !hashed {
			f = set.byName[name]
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
