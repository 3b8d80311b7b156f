// Package billing sells credits through Stripe: the catalogue of credit
// packages, each user's Stripe customer, purchases, and the Stripe events
// that settle them. It is the only code that writes the credit_packages,
// stripe_customers, purchases and stripe_events tables; credits themselves
// are granted through the ledger (package credits).
//
// A purchase is ours before Stripe hears of it: its row is written first,
// and its id is the checkout session's client_reference_id and the root
// of its idempotency key. Fulfillment (Fulfill) follows Stripe's guide:
// one function, called for every event that may mean a payment, which
// retrieves the session, grants only a paid one, takes the credits from
// our catalogue (never from anything the browser could touch), and
// grants under the session's id as the ledger's idempotency key, in the
// transaction that marks the purchase paid. So it grants once, whatever
// the number, order or concurrency of the calls, on any instance.
package billing

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

// Billing is the application's sale of credits.
type Billing struct {
	db     *database.DB
	ledger *credits.Ledger
	stripe Stripe
	clock  clock.Clock
	logger *slog.Logger
	// jobs runs the work of Stripe's events.
	jobs *jobs.Queue
	// webhookSecret signs Stripe's deliveries (whsec_...).
	webhookSecret string
	mail          Mail
}

// Options are what New builds Billing from.
type Options struct {
	DB     *database.DB
	Ledger *credits.Ledger
	Stripe Stripe
	Clock  clock.Clock
	Logger *slog.Logger
	// Jobs is the queue the work of Stripe's events goes through.
	Jobs *jobs.Queue
	// WebhookSecret is the signing secret of the webhook endpoint.
	WebhookSecret string
	// Mail sends the buyer's confirmations and payment-failed notices.
	Mail Mail
}

// New returns the billing of o.DB.
func New(o Options) *Billing {
	return &Billing{db: o.DB, ledger: o.Ledger, stripe: o.Stripe, clock: o.Clock, logger: o.Logger, jobs: o.Jobs,
		webhookSecret: o.WebhookSecret, mail: o.Mail}
}

func (b *Billing) now() time.Time { return b.clock.Now().UTC() }

// Package is one entry of the catalogue: so many credits for so much.
type Package struct {
	ID      string
	Name    string
	Credits int64
	// UnitAmount is the price in the currency's minor unit (cents; whole
	// yen for a zero-decimal currency such as jpy).
	UnitAmount int64
	Currency   string
	SortOrder  int
	Active     bool
	// StripePriceID is the Stripe price that sells it; empty until synced.
	StripePriceID string
	// StripeProductID is its Stripe product; empty until synced.
	StripeProductID string
	// StalePriceID is the price a changed amount or currency made
	// obsolete, until a sync deactivates it.
	StalePriceID string
}

// Price is the package's price as people read it: "9.00 EUR".
func (p Package) Price() string { return FormatAmount(p.UnitAmount, p.Currency) }

// Errors callers turn into answers.
var (
	ErrNoPackage      = errors.New("no such credit package")
	ErrNotForSale     = errors.New("this credit package is not for sale: it is inactive or not yet synced to Stripe")
	ErrNoSuchPurchase = errors.New("no such purchase")
)

var currencyCode = regexp.MustCompile(`^[a-z]{3}$`)

// Validate says what is wrong with p, as one sentence per problem.
func (p *Package) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	p.Currency = strings.ToLower(strings.TrimSpace(p.Currency))
	var problems []error
	if p.Name == "" {
		problems = append(problems, errors.New("a credit package needs a name, e.g. \"Starter\""))
	}
	if p.Credits <= 0 || p.Credits > credits.MaxAmount {
		problems = append(problems, fmt.Errorf("a credit package holds from 1 to %d credits, not %d", credits.MaxAmount, p.Credits))
	}
	if p.UnitAmount <= 0 {
		problems = append(problems, fmt.Errorf("a credit package's price is a positive amount in the currency's smallest unit (cents: 500 for 5.00), not %d", p.UnitAmount))
	}
	if !currencyCode.MatchString(p.Currency) {
		problems = append(problems, fmt.Errorf("a credit package's currency is a three-letter ISO 4217 code such as usd, not %q", p.Currency))
	}
	return errors.Join(problems...)
}

// AddPackage adds p to the catalogue and returns it with its id.
func (b *Billing) AddPackage(ctx context.Context, p Package) (Package, error) {
	return b.addPackage(ctx, b.db, p)
}

func (b *Billing) addPackage(ctx context.Context, ex database.Execer, p Package) (Package, error) {
	if err := p.Validate(); err != nil {
		return Package{}, err
	}
	p.ID = rand.Text()
	now := b.now()
	_, err := ex.ExecContext(ctx,
		`INSERT INTO credit_packages (id, name, credits, unit_amount, currency, sort_order, active, stripe_price_id, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.Credits, p.UnitAmount, p.Currency, p.SortOrder, p.Active, nullable(p.StripePriceID), now, now)
	if err != nil {
		return Package{}, fmt.Errorf("add a credit package: %w", err)
	}
	return p, nil
}

const selectPackage = `SELECT id, name, credits, unit_amount, currency, sort_order, active, COALESCE(stripe_price_id, ''),
	COALESCE(stripe_product_id, ''), COALESCE(stale_price_id, '') FROM credit_packages`

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func packageWhere(ctx context.Context, q queryer, where string, args ...any) (Package, error) {
	p, err := scanPackage(q.QueryRowContext(ctx, selectPackage+" WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Package{}, ErrNoPackage
	}
	if err != nil {
		return Package{}, fmt.Errorf("read a credit package: %w", err)
	}
	return p, nil
}

func scanPackage(row rowScanner) (Package, error) {
	var p Package
	err := row.Scan(&p.ID, &p.Name, &p.Credits, &p.UnitAmount, &p.Currency, &p.SortOrder, &p.Active, &p.StripePriceID,
		&p.StripeProductID, &p.StalePriceID)
	return p, err
}

// Package returns the package with the id.
func (b *Billing) Package(ctx context.Context, id string) (Package, error) {
	return packageWhere(ctx, b.db, "id = ?", id)
}

// Status is where a purchase stands.
type Status string

const (
	StatusPending  Status = "pending"
	StatusPaid     Status = "paid"
	StatusFailed   Status = "failed"
	StatusExpired  Status = "expired"
	StatusRefunded Status = "refunded"
)

// Purchase is one checkout of one package by one user.
type Purchase struct {
	ID        string
	UserID    string
	PackageID string
	Status    Status
	// What the user was offered, from the catalogue when it started.
	Credits           int64
	Amount            int64
	Currency          string
	CheckoutSessionID string
	PaymentIntentID   string
	// JournalID is the ledger entry of the grant, once paid.
	JournalID string
	// AmountRefunded is what Stripe refunded of Amount so far.
	AmountRefunded int64
	CreatedAt      time.Time
	PaidAt         time.Time
}

const selectPurchase = `SELECT id, user_id, package_id, status, credits, amount, currency, COALESCE(checkout_session_id, ''),
	payment_intent_id, journal_id, amount_refunded, created_at, paid_at FROM purchases`

// Purchase returns the purchase with the id.
func (b *Billing) Purchase(ctx context.Context, id string) (Purchase, error) {
	return b.purchaseWhere(ctx, "id = ?", id)
}

func (b *Billing) purchaseWhere(ctx context.Context, where string, args ...any) (Purchase, error) {
	p, err := scanPurchase(b.db.QueryRowContext(ctx, selectPurchase+" WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Purchase{}, ErrNoSuchPurchase
	}
	if err != nil {
		return Purchase{}, fmt.Errorf("read a purchase: %w", err)
	}
	return p, nil
}

type rowScanner interface{ Scan(dest ...any) error }

// scanPurchase reads the columns of selectPurchase, then into extra any
// the query selects after them.
func scanPurchase(row rowScanner, extra ...any) (Purchase, error) {
	var p Purchase
	var status string
	var paid sql.NullTime
	err := row.Scan(append([]any{&p.ID, &p.UserID, &p.PackageID, &status, &p.Credits, &p.Amount, &p.Currency,
		&p.CheckoutSessionID, &p.PaymentIntentID, &p.JournalID, &p.AmountRefunded, &p.CreatedAt, &paid}, extra...)...)
	p.Status, p.PaidAt = Status(status), paid.Time
	return p, err
}
