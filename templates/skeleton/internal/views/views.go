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
}

// Renderer holds the parsed templates.
type Renderer struct {
	appName  string
	clock    clock.Clock
	pages    map[string]*template.Template
	partials *template.Template
}

// New parses every template once. appName appears in titles and branding;
// clk dates the footer.
func New(appName string, assets AssetURLs, clk clock.Clock) (*Renderer, error) {
	funcs := template.FuncMap{
		"asset":     assets.URL,
		"integrity": assets.Integrity,
	}
	fsys := Files()
	base, err := template.New("").Funcs(funcs).ParseFS(fsys, "layout.html", "partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout and partials: %w", err)
	}
	foldConstants(base, map[string]func(string) (string, error){"asset": assets.URL, "integrity": assets.Integrity})
	names, err := pageFiles(fsys)
	if err != nil {
		return nil, err
	}
	r := &Renderer{appName: appName, clock: clk, pages: map[string]*template.Template{}}
	for _, file := range names {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(fsys, file)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		r.pages[pageName(file)] = t
	}
	// Partials are executed on their own too, for htmx. Base is cloned for
	// that use because html/template cannot clone a set once executed.
	if r.partials, err = base.Clone(); err != nil {
		return nil, fmt.Errorf("clone partials: %w", err)
	}
	return r, nil
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
	names := make([]string, 0, len(r.pages))
	for name := range r.pages {
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
	t, ok := r.pages[name]
	if !ok {
		return nil, fmt.Errorf("render page %q: no such page", name)
	}
	return execute(t, "layout", view{Page: p, AppName: r.appName, Year: r.Year()})
}

// Year is the year pages show in their footer.
func (r *Renderer) Year() int { return r.clock.Now().Year() }

// Partial renders one fragment from templates/partials, for htmx.
func (r *Renderer) Partial(w http.ResponseWriter, status int, name string, data any) error {
	body, err := execute(r.partials, name, data)
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
	_, ok := r.pages[name]
	return ok
}
