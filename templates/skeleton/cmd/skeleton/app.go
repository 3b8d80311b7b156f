package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/devcheckout"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/contact"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/sessions"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web"
)

// app is the application: every part, built once from the configuration
// around one database, one clock and one job queue, on which each feature
// registers its own background work. Building it starts nothing: serve
// runs it (runBackground and the web server); the other commands use its
// parts.
type app struct {
	cfg    config.Config
	clock  clock.Clock
	logger *slog.Logger
	db     *database.DB
	// jobs is the one durable job queue.
	jobs *jobs.Queue
	// outbox holds the email waiting for the mail worker.
	outbox   *mail.Outbox
	composer *mail.Composer
	contacts *contact.Store
	// limiter counts every rate limit, in the database.
	limiter  *ratelimit.Limiter
	accounts web.Accounts
	credits  web.Credits
	// billing sells credits through Stripe; nil when STRIPE_ENABLED is off.
	billing *billing.Billing
	// devCheckout is billing's Stripe with STRIPE_FAKE=true, else nil.
	devCheckout *devcheckout.Stripe
	// files keeps uploads in the configured store; closeStore releases it.
	files      *files.Service
	closeStore func() error
}

// newApp loads the configuration, opens the database and builds every
// part on the invocation's clock. Close it when done.
func newApp(ctx context.Context, inv invocation) (*app, error) {
	cfg, err := config.Load(inv.getenv)
	if err != nil {
		return nil, err
	}
	logger := logging.New(inv.stderr, cfg.LogFormat, cfg.LogLevel)
	db, err := database.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, clock: inv.clock, logger: logger, db: db,
		jobs: jobs.New(db, logger, inv.clock), outbox: mail.NewOutbox(db, inv.clock)}
	if err := a.build(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) build() error {
	var err error
	if a.composer, err = mail.NewComposer(appName, a.cfg.BaseURL.String()); err != nil {
		return err
	}
	a.contacts = contact.NewStore(a.db, a.clock)
	ledger := credits.New(a.db, a.clock)
	a.limiter = ratelimit.New(a.db, a.clock)
	users := accounts.New(accounts.Options{
		DB: a.db, Hasher: accounts.NewHasher(accounts.DefaultParams), Outbox: a.outbox, Composer: a.composer,
		Limiter: a.limiter, Logger: a.logger, BaseURL: a.cfg.BaseURL.String(), Clock: a.clock,
		Keep: ledger.Statement,
	})
	a.accounts = web.Accounts{
		Users:    users,
		Sessions: sessions.New(a.db, sessions.DefaultTimeouts, a.clock),
		Audit:    audit.NewLog(a.db),
		Outbox:   a.outbox,
		Messages: a.contacts,
	}
	registry := services.NewRegistry(a.db, ledger, a.logger, a.clock)
	if err := services.RegisterAll(registry); err != nil {
		return err
	}
	a.credits = web.Credits{Ledger: ledger, Services: registry, Keys: apikeys.New(a.db, a.clock)}
	if s := a.cfg.Stripe; s.Enabled {
		base := strings.TrimSuffix(a.cfg.BaseURL.String(), "/")
		var api billing.Stripe = billing.NewStripeAPI(s.SecretKey.Reveal(), "")
		if s.Fake {
			a.devCheckout = devcheckout.New(base, s.WebhookSecret.Reveal())
			api = a.devCheckout
		}
		a.billing = billing.New(billing.Options{DB: a.db, Ledger: ledger, Stripe: api,
			Clock: a.clock, Logger: a.logger, Jobs: a.jobs, WebhookSecret: s.WebhookSecret.Reveal(),
			Mail: billing.Mail{Composer: a.composer, Outbox: a.outbox, Recipient: a.recipient,
				ReceiptLink: func(id string) string { return base + "/credits/purchases/" + id },
				RetryLink:   base + "/credits/buy"}})
		if a.devCheckout != nil {
			a.devCheckout.SellFrom(a.billing.PackageByPrice)
		}
		a.billing.RegisterJobs()
		users.OnEmailChange(a.billing.QueueCustomerEmail)
	}

	ledger.RegisterJobs(a.jobs, credits.Notices{
		Composer:  a.composer,
		Outbox:    a.outbox,
		Recipient: a.recipient,
		Link:      strings.TrimSuffix(a.cfg.BaseURL.String(), "/") + "/credits",
	})
	registry.RegisterJobs(a.jobs)
	a.accounts.Sessions.RegisterJobs(a.jobs)
	a.accounts.Users.RegisterJobs(a.jobs)
	a.buildFiles()
	return nil
}

// recipient is the address and name the credit notices go to.
func (a *app) recipient(ctx context.Context, userID string) (to, name string, ok bool, err error) {
	u, err := a.accounts.Users.ByID(ctx, userID)
	if errors.Is(err, accounts.ErrNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return u.Email, u.Name, true, nil
}

// offerDemoCatalogue puts the fake checkout's demo packages on sale when
// the catalogue is empty, so that a new project has something to buy out
// of the box. Only with STRIPE_FAKE=true: their price ids are the fake's.
func (a *app) offerDemoCatalogue(ctx context.Context) error {
	if a.devCheckout == nil {
		return nil
	}
	added, err := a.billing.SeedCatalogue(ctx, devcheckout.Demo(a.cfg.Stripe.Currency))
	if added > 0 {
		a.logger.InfoContext(ctx, "STRIPE_FAKE=true and the catalogue was empty: the demo credit packages are on sale at /pricing")
	}
	return err
}

// Close releases the file store and closes the database.
func (a *app) Close() error {
	if a.closeStore != nil {
		_ = a.closeStore()
	}
	return a.db.Close()
}

// Every how long the job queue looks for due jobs.
const jobPoll = 5 * time.Second

// runBackground runs the job queue and the email worker, sending with
// sender, until ctx ends, then returns once both have finished the job and
// the message in hand; anything unsent stays queued.
func (a *app) runBackground(ctx context.Context, sender mail.Sender) {
	var wg sync.WaitGroup
	wg.Go(func() { mail.NewWorker(a.outbox, sender, a.logger).Run(ctx) })
	wg.Go(func() { a.jobs.Run(ctx, jobPoll) })
	wg.Wait()
}

// emailSender is the configured backend.
func emailSender(cfg config.Email) (mail.Sender, error) {
	if cfg.Backend == "file" {
		return mail.FileSender{Dir: cfg.FileDir, From: cfg.From}, nil
	}
	return mail.NewSMTPSender(mail.SMTPConfig{
		Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword.Reveal(),
		TLS: cfg.SMTPTLS, From: cfg.From, Timeout: 20 * time.Second,
	})
}
