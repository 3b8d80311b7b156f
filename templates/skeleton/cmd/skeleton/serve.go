package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/devreload"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM. Container runtimes wait 10 s by default before SIGKILL;
// set their grace period above this to never cut a request.
const shutdownTimeout = 20 * time.Second

func serveCommand() *command {
	return &command{name: "serve", summary: "Start the web server on HTTP_ADDR (default :8000), with the job queue and the email worker.",
		flags: noFlags(serve)}
}

// serve runs the web server and the background work until ctx is
// cancelled, then stops taking new requests, lets the ones in flight
// finish and returns nil.
func serve(ctx context.Context, inv invocation) error {
	a, err := newApp(ctx, inv)
	if err != nil {
		return err
	}
	defer a.Close()
	logger := a.logger
	if a.cfg.SecretKeyGenerated {
		logger.Warn("SECRET_KEY is not set: a random key signs cookies for this run only; set SECRET_KEY in .env to keep them across restarts")
	}

	migrator, err := migrate.New(a.db, a.clock)
	if err != nil {
		return err
	}
	if err := migrator.Check(ctx); err != nil {
		var schema *migrate.SchemaError
		if !errors.As(err, &schema) || schema.Ahead() {
			return err
		}
		// Behind is survivable: a migrate job may be about to run. Until
		// it has, /readyz answers 503 and no traffic should arrive.
		logger.Warn("database schema is behind this build; /readyz reports not ready until migrations run",
			"current", schema.Current, "latest", schema.Latest)
	} else if err := a.offerDemoCatalogue(ctx); err != nil {
		return err
	}
	if a.devCheckout != nil {
		logger.Warn("STRIPE_FAKE=true: purchases go through the development checkout at /dev/checkout/, and no money moves")
	}

	assets, renderer, watcher, err := a.pageFiles(logger)
	if err != nil {
		return err
	}
	checker := health.New(logger,
		health.Check{Name: "database", Run: a.db.PingContext},
		health.Check{Name: "schema", Run: migrator.Check},
	)
	sender, err := emailSender(a.cfg.Email)
	if err != nil {
		return err
	}
	handler, err := web.NewServer(web.Deps{
		Logger: logger,
		Clock:  a.clock,
		Config: web.Config{
			BaseURL:           a.cfg.BaseURL,
			TrustProxyHeaders: a.cfg.TrustProxyHeaders,
			SecretKey:         []byte(a.cfg.SecretKey.Reveal()),
			Development:       a.cfg.Env == config.Development,
			StripeTestMode:    a.cfg.Stripe.Enabled && a.cfg.Stripe.TestMode(),
		},
		Views:    renderer,
		Assets:   assets,
		Health:   checker,
		Contacts: a.contacts,
		Limiter:  a.limiter,
		Accounts: a.accounts,
		Credits:  a.credits,
		Billing:  a.billing,
		Files:    a.files,
		// Configuration refuses STRIPE_FAKE and SOURCE_DIR in production.
		DevCheckout: a.devCheckout,
		DevReload:   watcher,
	})
	if err != nil {
		return err
	}
	// The background work runs until shutdown, past the cancellation that
	// starts it, so that it ends after the last request.
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	backgroundDone := make(chan struct{})
	go func() {
		defer close(backgroundDone)
		a.runBackground(background, sender)
	}()
	if watcher != nil {
		go watcher.Run(background)
	}
	defer func() {
		stopBackground()
		<-backgroundDone
	}()

	srv := &http.Server{
		Addr:              a.cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Listen before announcing, so a taken port fails the start loudly.
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w (is another server using that port?)", a.cfg.HTTPAddr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "version", appVersion(),
		"database", string(a.db.Dialect()), "config", a.cfg)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down: refusing new requests, finishing those in flight")
	checker.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down within %s: %w", shutdownTimeout, err)
	}
	logger.Info("stopped")
	return nil
}

// pageFiles loads the static files and the templates: the embedded ones,
// or in development with SOURCE_DIR those on disk, with the watcher that
// reloads them when they change.
func (a *app) pageFiles(logger *slog.Logger) (*static.Assets, *views.Renderer, *devreload.Watcher, error) {
	if a.cfg.SourceDir == "" {
		assets, err := static.New()
		if err != nil {
			return nil, nil, nil, err
		}
		renderer, err := views.New(appName, assets, a.clock)
		return assets, renderer, nil, err
	}
	assets, renderer, watcher, err := devreload.Live(logger, appName, a.clock, a.cfg.SourceDir)
	if err != nil {
		return nil, nil, nil, err
	}
	logger.Warn("SOURCE_DIR is set: templates and static files are read from " + a.cfg.SourceDir + " and reloaded when they change")
	return assets, renderer, watcher, nil
}
