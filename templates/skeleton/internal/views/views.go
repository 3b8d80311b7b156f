// Package views renders the HTML pages and the fragments that htmx swaps in.
//
// Templates are embedded and parsed once, at start: every page is the layout
// plus one file, and every file in templates/partials is available to all of
// them. A page is any .html file outside partials/ other than the layout, so
// a new folder of pages needs no change here. A page renders into a buffer first, so a failing
// template never sends half a page.
package views

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync/atomic"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
)

//go:embed templates
var files embed.FS

// Files are the template sources, for tests that inspect them.
func Files() fs.FS {
	sub, _ := fs.Sub(files, "templates") // the directory is embedded: cannot fail
	return sub
}

// AssetURLs resolves static asset names for templates.
type AssetURLs interface {
	URL(name string) (string, error)
	Integrity(name string) (string, error)
}

// Page is what every page template receives.
type Page struct {
	Title       string
	Description string
	// Path is the request path, so the navigation can mark the current page.
	Path  string
	Flash *Flash
	// Account is the signed-in user, nil for visitors.
	Account *Account
	// Data is the page's own content.
	Data any
}

// Account is the signed-in user as the navigation shows them.
type Account struct {
	Name  string
	Email string
	Admin bool
}

// Flash is a one-time notice shown at the top of the next page.
type Flash struct {
	Kind    string // success, info, warning or danger (Bulma colours)
	Message string
}

// view is what the layout receives: the page plus application-wide values.
type view struct {
	Page
	AppName string
	Year    int
	// Reload is set in development when templates are read from disk:
	// the layout then loads the script that reloads the page on a change.
	Reload *Reload
}

// Reload is what the development reload script needs.
type Reload struct {
	// Generation is the templates' version the page was rendered with.
	Generation int64
}

// Renderer holds the parsed templates.
type Renderer struct {
	appName string
	clock   clock.Clock
	assets  AssetURLs
	// live is set when the templates are read from disk and reloaded
	// (development): pages then carry the reload script.
	live bool
	set  atomic.Pointer[templateSet]
}

// templateSet is one parse of every template.
type templateSet struct {
	generation int64
	pages      map[string]*template.Template
	partials   *template.Template
}

// New parses every embedded template once. appName appears in titles and
// branding; clk dates the footer.
func New(appName string, assets AssetURLs, clk clock.Clock) (*Renderer, error) {
	return newRenderer(&Renderer{appName: appName, clock: clk, assets: assets}, Files())
}

// NewLive parses the templates in dir, a copy of internal/views/templates
// on disk, for development: Reload reads them again.
func NewLive(appName string, assets AssetURLs, clk clock.Clock, dir fs.FS) (*Renderer, error) {
	return newRenderer(&Renderer{appName: appName, clock: clk, assets: assets, live: true}, dir)
}

func newRenderer(r *Renderer, fsys fs.FS) (*Renderer, error) {
	set, err := r.parse(fsys, 0)
	if err != nil {
		return nil, err
	}
	r.set.Store(set)
	return r, nil
}

// Reload parses the templates in dir again and serves them from now on.
// A template that does not parse leaves the ones before in place and is
// the error.
func (r *Renderer) Reload(dir fs.FS) error {
	set, err := r.parse(dir, r.set.Load().generation+1)
	if err != nil {
		return err
	}
	r.set.Store(set)
	return nil
}

// Generation counts the reloads: a page rendered once and kept (a fixed
// page) is out of date when it changes.
func (r *Renderer) Generation() int64 { return r.set.Load().generation }

func (r *Renderer) parse(fsys fs.FS, generation int64) (*templateSet, error) {
	funcs := template.FuncMap{
		"asset":     r.assets.URL,
		"integrity": r.assets.Integrity,
	}
	base, err := template.New("").Funcs(funcs).ParseFS(fsys, "layout.html", "partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout and partials: %w", err)
	}
	foldConstants(base, map[string]func(string) (string, error){"asset": r.assets.URL, "integrity": r.assets.Integrity})
	names, err := pageFiles(fsys)
	if err != nil {
		return nil, err
	}
	set := &templateSet{generation: generation, pages: map[string]*template.Template{}}
	for _, file := range names {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(fsys, file)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		set.pages[pageName(file)] = t
	}
	// Partials are executed on their own too, for htmx. Base is cloned for
	// that use because html/template cannot clone a set once executed.
	if set.partials, err = base.Clone(); err != nil {
		return nil, fmt.Errorf("clone partials: %w", err)
	}
	return set, nil
}

// pageFiles lists every page template: each .html file but the layout and
// the partials, in any folder.
func pageFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && name == "partials":
			return fs.SkipDir
		case !d.IsDir() && path.Ext(name) == ".html" && name != "layout.html":
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	return files, nil
}

// pageName is how handlers name a page: pages/<name>.html is <name>, any
// other <area>/<name>.html is <area>/<name>.
func pageName(file string) string {
	return strings.TrimSuffix(strings.TrimPrefix(file, "pages/"), ".html")
}

// Pages lists the page names.
func (r *Renderer) Pages() []string {
	pages := r.set.Load().pages
	names := make([]string, 0, len(pages))
	for name := range pages {
		names = append(names, name)
	}
	return names
}

// Page renders the named page (a file in templates/pages without .html)
// inside the layout.
func (r *Renderer) Page(w http.ResponseWriter, status int, name string, p Page) error {
	body, err := r.Render(name, p)
	if err != nil {
		return err
	}
	return send(w, status, body)
}

// Render renders the named page into memory, for pages served from there.
// The page takes from the time only its footer's year (Year): it must
// render again when that turns.
func (r *Renderer) Render(name string, p Page) ([]byte, error) {
	set := r.set.Load()
	t, ok := set.pages[name]
	if !ok {
		return nil, fmt.Errorf("render page %q: no such page", name)
	}
	v := view{Page: p, AppName: r.appName, Year: r.Year()}
	if r.live {
		v.Reload = &Reload{Generation: set.generation}
	}
	return execute(t, "layout", v)
}

// Year is the year pages show in their footer.
func (r *Renderer) Year() int { return r.clock.Now().Year() }

// Partial renders one fragment from templates/partials, for htmx.
func (r *Renderer) Partial(w http.ResponseWriter, status int, name string, data any) error {
	body, err := execute(r.set.Load().partials, name, data)
	if err != nil {
		return err
	}
	return send(w, status, body)
}

func execute(t *template.Template, name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func send(w http.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// Has reports whether a page of that name exists.
func (r *Renderer) Has(name string) bool {
	_, ok := r.set.Load().pages[name]
	return ok
}
