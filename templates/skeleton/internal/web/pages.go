package web

import (
	"log/slog"
	"net/http"

	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
)

// pages renders full pages, htmx fragments and error pages, and logs what
// fails to render.
type pages struct {
	logger *slog.Logger
	views  *views.Renderer
	flash  *flashes
}

// page renders a full page, adding the request path and any pending flash.
func (p *pages) page(w http.ResponseWriter, r *http.Request, status int, name string, page views.Page) {
	page.Path = r.URL.Path
	page.Account = viewAccount(r)
	if page.Flash == nil {
		page.Flash = p.flash.pop(w, r)
	}
	if err := p.views.Page(w, status, name, page); err != nil {
		p.fail(w, r, err)
	}
}

// partial renders a fragment for htmx to swap in.
func (p *pages) partial(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if err := p.views.Partial(w, status, name, data); err != nil {
		p.fail(w, r, err)
	}
}

// fail logs err and answers with the 500 page. Nothing has been written
// yet: views render into a buffer before they write.
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	p.error(w, r, http.StatusInternalServerError)
}

// errorPage is what templates/pages/error.html shows.
type errorPage struct {
	Status    int
	Heading   string
	Message   string
	RequestID string
}

var errorTexts = map[int][2]string{
	http.StatusBadRequest:            {"That request did not make sense", "Something in what was sent could not be read. Go back, reload the page and try again."},
	http.StatusForbidden:             {"Request refused", "This request came from another site, so it was refused to protect you. Go back, reload the page and try again."},
	http.StatusNotFound:              {"Page not found", "The page you are looking for does not exist or has moved."},
	http.StatusRequestEntityTooLarge: {"That was too much", "What you sent is larger than this site accepts. Shorten it and try again."},
	http.StatusTooManyRequests:       {"Too many requests", "Slow down a little: wait a minute, then try again."},
	http.StatusInternalServerError:   {"Something went wrong", "An unexpected error stopped this page. It has been logged; please try again in a moment."},
}

// error renders the styled error page for status. It never shows the
// cause: that went to the log, under the same request id the page quotes.
func (p *pages) error(w http.ResponseWriter, r *http.Request, status int) {
	text, ok := errorTexts[status]
	if !ok {
		text = [2]string{http.StatusText(status), "The request could not be completed."}
	}
	data := errorPage{Status: status, Heading: text[0], Message: text[1], RequestID: logging.RequestID(r.Context())}
	page := views.Page{Title: text[0], Path: r.URL.Path, Data: data, Account: viewAccount(r)}
	w.Header().Set("Cache-Control", "no-store")
	if err := p.views.Page(w, status, "error", page); err != nil {
		p.logger.ErrorContext(r.Context(), "render error page", "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}
