// Package views renders the HTML pages and the fragments that htmx swaps in.
//
// Templates are embedded and parsed once, at start: every page is the layout
// plus one file from templates/pages, and every file in templates/partials is
// available to all of them. A page renders into a buffer first, so a failing
// template never sends half a page.
package views

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
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
	pages    map[string]*template.Template
	partials *template.Template
}

// New parses every template once. appName appears in titles and branding.
func New(appName string, assets AssetURLs) (*Renderer, error) {
	funcs := template.FuncMap{
		"asset":     assets.URL,
		"integrity": assets.Integrity,
	}
	fsys := Files()
	base, err := template.New("").Funcs(funcs).ParseFS(fsys, "layout.html", "partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout and partials: %w", err)
	}
	// Pages are pages/<name>.html, named <name>, and the account pages
	// <area>/<name>.html, named <area>/<name>.
	var names []string
	for _, pattern := range []string{"pages/*.html", "accounts/*.html", "dashboard/*.html", "settings/*.html", "admin/*.html", "credits/*.html"} {
		found, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, fmt.Errorf("list pages: %w", err)
		}
		names = append(names, found...)
	}
	r := &Renderer{appName: appName, pages: map[string]*template.Template{}}
	for _, file := range names {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(fsys, file)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		r.pages[strings.TrimSuffix(strings.TrimPrefix(file, "pages/"), ".html")] = t
	}
	// Partials are executed on their own too, for htmx. Base is cloned for
	// that use because html/template cannot clone a set once executed.
	if r.partials, err = base.Clone(); err != nil {
		return nil, fmt.Errorf("clone partials: %w", err)
	}
	return r, nil
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
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render page %q: no such page", name)
	}
	return write(w, status, t, "layout", view{Page: p, AppName: r.appName, Year: time.Now().Year()})
}

// Partial renders one fragment from templates/partials, for htmx.
func (r *Renderer) Partial(w http.ResponseWriter, status int, name string, data any) error {
	return write(w, status, r.partials, name, data)
}

func write(w http.ResponseWriter, status int, t *template.Template, name string, data any) error {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}
