// Package response writes every answer of the HTML pages: whole pages,
// htmx fragments and the styled error page, plus the JSON the API sends.
// Templates render into a buffer first, so a failure still has the whole
// response to replace with the error page.
package response

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
)

// Pages renders pages, fragments and error pages, and logs what fails to
// render.
type Pages struct {
	logger  *slog.Logger
	views   *views.Renderer
	flashes *Flashes
	account func(*http.Request) *views.Account
}

// NewPages renders with renderer; account names the signed-in user of a
// request for the layout, nil for a visitor.
func NewPages(logger *slog.Logger, renderer *views.Renderer, flashes *Flashes, account func(*http.Request) *views.Account) *Pages {
	return &Pages{logger: logger, views: renderer, flashes: flashes, account: account}
}

// Page renders a full page, adding the request path, the signed-in user
// and any pending flash.
func (p *Pages) Page(w http.ResponseWriter, r *http.Request, status int, name string, page views.Page) {
	page.Path = r.URL.Path
	page.Account = p.account(r)
	if page.Flash == nil {
		page.Flash = p.flashes.pop(w, r)
	}
	if err := p.views.Page(w, status, name, page); err != nil {
		p.Fail(w, r, err)
	}
}

// Partial renders a fragment for htmx to swap in.
func (p *Pages) Partial(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if err := p.views.Partial(w, status, name, data); err != nil {
		p.Fail(w, r, err)
	}
}

// Flash queues fl for the next page this client loads, typically after a
// redirect.
func (p *Pages) Flash(w http.ResponseWriter, fl views.Flash) { p.flashes.set(w, fl) }

// Fail logs err and answers with the 500 page. Nothing has been written
// yet: views render into a buffer before they write.
func (p *Pages) Fail(w http.ResponseWriter, r *http.Request, err error) {
	p.logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	p.Error(w, r, http.StatusInternalServerError)
}

// ErrorPage is what templates/pages/error.html shows.
type ErrorPage struct {
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

// Error renders the styled error page for status in its usual words.
func (p *Pages) Error(w http.ResponseWriter, r *http.Request, status int) {
	text, ok := errorTexts[status]
	if !ok {
		text = [2]string{http.StatusText(status), "The request could not be completed."}
	}
	p.ErrorText(w, r, status, text[0], text[1])
}

// ErrorText renders the styled error page with its own wording. It never
// shows a cause: that went to the log, under the request id the page quotes.
func (p *Pages) ErrorText(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	data := ErrorPage{Status: status, Heading: heading, Message: message, RequestID: logging.RequestID(r.Context())}
	page := views.Page{Title: heading, Path: r.URL.Path, Data: data, Account: p.account(r)}
	w.Header().Set("Cache-Control", "no-store")
	if err := p.views.Page(w, status, "error", page); err != nil {
		p.logger.ErrorContext(r.Context(), "render error page", "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// internalJSON is sent when an answer cannot be encoded, in the API's
// error shape.
const internalJSON = `{"error":{"code":"internal","message":"the answer could not be encoded"}}`

// JSON writes v as the whole answer, with its length, so that the
// compression middleware can leave small answers alone.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(internalJSON)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away; nothing to tell it
}
