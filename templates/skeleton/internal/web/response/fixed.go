package response

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/middleware"
)

// FixedPage is a page whose whole content is known when the server starts,
// as a visitor sees it: the home page, the login form. Rendering it for
// every request would make the same bytes, so a visitor with no pending
// flash gets it from memory, gzipped once if the browser takes that; it
// renders again only when the year in its footer turns. A signed-in user or
// a flash adds to the page: then it renders as Page does.
type FixedPage struct {
	pages  *Pages
	path   string
	name   string
	page   views.Page
	cached atomic.Pointer[fixedBody]
}

type fixedBody struct {
	// The page is rendered again when the footer's year turns or the
	// templates are reloaded (development).
	year, generation int64
	plain, gzipped   []byte
}

// Fixed prepares the page named name, as page shows it, for the route
// whose path is exactly path. An unknown name is a mistake in the code,
// found when the routes are built.
func (p *Pages) Fixed(path, name string, page views.Page) *FixedPage {
	if !p.views.Has(name) {
		panic("response: fixed page " + strconv.Quote(name) + ": no such page")
	}
	page.Path = path
	return &FixedPage{pages: p, path: path, name: name, page: page}
}

// Serve answers r with the page and status.
func (f *FixedPage) Serve(w http.ResponseWriter, r *http.Request, status int) {
	p := f.pages
	if r.URL.Path != f.path || p.account(r) != nil || p.flashes.pending(r) {
		p.Page(w, r, status, f.name, f.page)
		return
	}
	b, err := f.body()
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	body := b.plain
	// The compression middleware leaves a body with a Content-Encoding
	// alone, and has added Vary: Accept-Encoding.
	if b.gzipped != nil && middleware.AcceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = b.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away; nothing to tell it
}

// body is the page for this year and these templates, rendered on the
// first request after either changed. Two requests may render it at once
// then: both get the same bytes, and either is kept.
func (f *FixedPage) body() (*fixedBody, error) {
	year, generation := int64(f.pages.views.Year()), f.pages.views.Generation()
	if b := f.cached.Load(); b != nil && b.year == year && b.generation == generation {
		return b, nil
	}
	plain, err := f.pages.views.Render(f.name, f.page)
	if err != nil {
		return nil, err
	}
	gzipped, err := middleware.Precompress(plain)
	if err != nil {
		return nil, err
	}
	b := &fixedBody{year: year, generation: generation, plain: plain, gzipped: gzipped}
	f.cached.Store(b)
	return b, nil
}
