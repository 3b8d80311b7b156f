package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/health"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/migrate"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/static"
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM. Container runtimes wait 10 s by default before SIGKILL;
// set their grace period above this to never cut a request.
const shutdownTimeout = 20 * time.Second

// serve runs the web server until ctx is cancelled, then stops taking new
// requests, lets the ones in flight finish and returns nil.
func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	if cfg.SecretKeyGenerated {
		logger.Warn("SECRET_KEY is not set: a random key signs cookies for this run only; set SECRET_KEY in .env to keep them across restarts")
	}

	db, err := database.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return err
	}
	defer db.Close()

	migrator, err := migrate.New(db)
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
	}

	assets, err := static.New()
	if err != nil {
		return err
	}
	clk := clock.System{}
	renderer, err := views.New(appName, assets, clk)
	if err != nil {
		return err
	}
	checker := health.New(logger,
		health.Check{Name: "database", Run: db.PingContext},
		health.Check{Name: "schema", Run: migrator.Check},
	)
	acct, outbox, err := accountParts(cfg, db, logger)
	if err != nil {
		return err
	}
	cr, creditJobs, err := creditParts(cfg, db, logger, acct.Users, outbox)
	if err != nil {
		return err
	}
	sender, err := emailSender(cfg.Email)
	if err != nil {
		return err
	}
	handler, err := web.NewServer(web.Deps{
		Logger: logger,
		Clock:  clk,
		Config: web.Config{
			BaseURL:           cfg.BaseURL,
			TrustProxyHeaders: cfg.TrustProxyHeaders,
			SecretKey:         []byte(cfg.SecretKey.Reveal()),
			Development:       cfg.Env == config.Development,
		},
		Views:    renderer,
		Assets:   assets,
		Health:   checker,
		Contacts: contact.NewStore(db, clk),
		Accounts: acct,
		Credits:  cr,
	})
	if err != nil {
		return err
	}
	// The email worker and housekeeping run until shutdown; the worker
	// finishes the message in hand, and anything unsent stays queued.
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { mail.NewWorker(outbox, sender, logger).Run(background) })
	wg.Go(func() { runHousekeeping(background, logger, acct) })
	wg.Go(func() { runCreditJobs(background, logger, db, creditJobs) })
	defer func() {
		stopBackground()
		wg.Wait()
	}()

	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Listen before announcing, so a taken port fails the start loudly.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w (is another server using that port?)", cfg.HTTPAddr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "version", appVersion(),
		"database", string(db.Dialect()), "config", cfg)

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
