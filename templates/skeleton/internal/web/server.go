// Package web is the HTTP face of the application: one constructor builds
// the whole http.Handler from explicit dependencies, routes.go lists every
// route with who may call it, and the handlers decode, validate and render.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

// maxBodyBytes bounds every request body; handlers that accept forms set
// tighter limits of their own.
const maxBodyBytes = 1 << 20

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
}

// ContactStore is what the contact form needs from storage.
type ContactStore interface {
	Create(ctx context.Context, m *contact.Message) error
}

// NewServer returns the application's http.Handler: the routes of
// routes.go wrapped in the middleware every request passes through.
func NewServer(logger *slog.Logger, config Config, renderer *views.Renderer, assets *static.Assets, contacts ContactStore, checker *health.Checker, acct Accounts, cr Credits) (http.Handler, error) {
	p := &pages{logger: logger, views: renderer, flash: newFlashes(config.SecretKey, config.BaseURL)}
	a := newAuth(logger, config, acct)
	mux := http.NewServeMux()
	for _, rt := range routes(logger, p, assets, contacts, checker, a, &cr) {
		mux.Handle(rt.pattern, rt.access.guard(p, cr.Keys, rt.handler))
	}
	// Sessions load after cross-origin protection: a refused request
	// never touches the sessions table.
	return middleware(a.loadSession(mux), logger, config, p)
}

// middleware wraps h in the chain every request passes through, outermost
// first: a request id for the logs, security headers (so that even error
// pages carry them), the access log, panic recovery, compression,
// cross-origin protection and the body size limit.
func middleware(h http.Handler, logger *slog.Logger, config Config, p *pages) (http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	if origin := config.BaseURL; origin != nil {
		if err := cop.AddTrustedOrigin(origin.Scheme + "://" + origin.Host); err != nil {
			return nil, fmt.Errorf("trust BASE_URL for cross-origin checks: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.WarnContext(r.Context(), "cross-origin request refused",
			"method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		p.error(w, r, http.StatusForbidden)
	}))

	h = limitBody(maxBodyBytes, h)
	h = cop.Handler(h)
	h = compress(h)
	h = recoverPanics(logger, p, h)
	h = logRequests(logger, h)
	h = securityHeaders(config.TrustProxyHeaders, h)
	h = requestID(config.TrustProxyHeaders, h)
	return h, nil
}
