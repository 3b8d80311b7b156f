// Package web is the HTTP face of the application: one constructor builds
// the whole http.Handler from the dependencies declared in Deps, routes.go
// lists every route with who may call it, and the handlers decode, call
// and render. What every handler shares has a small package of its own:
// response (pages, fragments, errors, JSON), form (parsing and fields),
// htmx, middleware, runs (what a service run's outcome means over HTTP)
// and api (the JSON API).
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/devreload"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/middleware"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

// Config holds the settings the HTTP layer needs.
type Config struct {
	// BaseURL is the public origin; it is trusted for cross-origin checks
	// when a proxy rewrites the Host header.
	BaseURL *url.URL
	// TrustProxyHeaders honours X-Forwarded-Proto (for HSTS) and an
	// incoming X-Request-Id from the proxy in front.
	TrustProxyHeaders bool
	// SecretKey signs the flash cookie.
	SecretKey []byte
	// Development enables pages for developers only (the email outbox).
	Development bool
	// StripeTestMode: payments run on Stripe's test keys, which the admin
	// pages say, so nobody takes a test payment for money.
	StripeTestMode bool
}

// ContactStore is what the contact form needs from storage.
type ContactStore interface {
	Create(ctx context.Context, m *contact.Message) error
}

// Deps are everything the web layer is built from, in one place.
type Deps struct {
	Logger *slog.Logger
	// Clock is the one clock of every page that depends on time.
	Clock    clock.Clock
	Config   Config
	Views    *views.Renderer
	Assets   *static.Assets
	Health   *health.Checker
	Contacts ContactStore
	// Limiter counts what the web layer's own rules bound (contactPerIP).
	Limiter  *ratelimit.Limiter
	Accounts Accounts
	Credits  Credits
	// Billing sells credits through Stripe; nil when payments are off.
	Billing *billing.Billing
	// DevCheckout is the fake Stripe of STRIPE_FAKE=true, whose pay page
	// the web layer serves; nil otherwise, and always in production.
	DevCheckout *devcheckout.Stripe
	// DevReload, set in development with SOURCE_DIR, reloads the templates
	// and static files when they change and tells open pages; nil, its
	// route is not served.
	DevReload *devreload.Watcher
	// Files keeps users' uploads.
	Files *files.Service
}

// server is what the handlers are made from.
type server struct {
	Deps
	pages *response.Pages
	auth  *auth
	api   *api.API
}

func newServer(d Deps) *server {
	flashes := response.NewFlashes(d.Config.SecretKey, d.Config.BaseURL)
	return &server{
		Deps:  d,
		pages: response.NewPages(d.Logger, d.Views, flashes, viewAccount),
		auth:  newAuth(d.Logger, d.Clock, d.Config, d.Accounts),
		api:   api.New(d.Logger, d.Credits.Ledger, d.Credits.Services, d.Credits.Keys, d.Files),
	}
}

// NewServer returns the application's http.Handler: the routes of
// routes.go wrapped in the middleware every request passes through.
func NewServer(d Deps) (http.Handler, error) {
	// Configuration refuses STRIPE_FAKE outside development; this is the
	// second lock, for a caller that builds Deps by another way.
	if d.DevCheckout != nil && !d.Config.Development {
		return nil, errors.New("the fake checkout (STRIPE_FAKE) is set outside development: it grants credits without payment; leave Deps.DevCheckout nil")
	}
	s := newServer(d)
	mux := http.NewServeMux()
	var signed, secret []string
	for _, rt := range s.routes() {
		if rt.handler == nil {
			continue
		}
		mux.Handle(rt.pattern, s.guard(rt.access, rt.handler))
		switch rt.access {
		case stripeSigned:
			signed = append(signed, rt.pattern)
		case shareLink:
			secret = append(secret, rt.pattern)
		}
	}
	// Sessions load after cross-origin protection and the text checks: a
	// refused request never touches the sessions table.
	return middleware.Wrap(refuseUnstorable(s.pages, s.auth.loadSession(mux)), middleware.Options{
		Logger:            d.Logger,
		Clock:             d.Clock,
		BaseURL:           d.Config.BaseURL,
		TrustProxyHeaders: d.Config.TrustProxyHeaders,
		ErrorPage:         s.pages.Error,
		SignedRoutes:      signed,
		SecretRoutes:      secret,
	})
}

// parseForm reads a form of at most limit bytes. On failure it has
// answered with the error page.
func parseForm(w http.ResponseWriter, r *http.Request, p *response.Pages, limit int64) bool {
	err := form.Parse(w, r, limit)
	if err == nil {
		return true
	}
	var parse *form.ParseError
	switch {
	case errors.As(err, &parse) && parse.Field != "":
		p.ErrorText(w, r, parse.Status, "That text could not be read", unstorableMessage("field", parse.Field))
	case errors.As(err, &parse):
		p.Error(w, r, parse.Status)
	default:
		p.Error(w, r, http.StatusBadRequest)
	}
	return false
}

// unstorableMessage tells a visitor which field or query parameter holds
// text that cannot be kept.
func unstorableMessage(kind, name string) string {
	return fmt.Sprintf("The %s %q holds a character this site cannot accept (a NUL byte, or bytes that are not UTF-8 text). Go back, retype it and send it again.", kind, name)
}
