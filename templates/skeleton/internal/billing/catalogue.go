package billing

import (
	"context"
	"fmt"
	"net/url"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Packages returns the whole catalogue, active or not, in the order it is
// shown.
func (b *Billing) Packages(ctx context.Context) ([]Package, error) {
	return b.packages(ctx, "ORDER BY sort_order, name, id")
}

// packages lists the packages that clause (a WHERE and an ORDER BY)
// selects.
func (b *Billing) packages(ctx context.Context, clause string) ([]Package, error) {
	rows, err := b.db.QueryContext(ctx, selectPackage+" "+clause)
	if err != nil {
		return nil, fmt.Errorf("list credit packages: %w", err)
	}
	defer rows.Close()
	var out []Package
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, fmt.Errorf("list credit packages: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list credit packages: %w", err)
	}
	return out, nil
}

// CreatePackage adds p to the catalogue as an administrator's action,
// recorded in the audit log in the same transaction. It is for sale once
// "stripe sync" has made its price.
func (b *Billing) CreatePackage(ctx context.Context, actorID string, p Package) (Package, error) {
	p.StripePriceID, p.StripeProductID, p.StalePriceID = "", "", ""
	var out Package
	err := b.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if out, err = b.addPackage(ctx, tx, p); err != nil {
			return err
		}
		return b.auditPackage(ctx, tx, actorID, "billing.package_created", out)
	})
	return out, err
}

// UpdatePackage changes a package as an administrator's action, recorded
// in the audit log. A Stripe price cannot change its amount: a new amount
// or currency takes the package off sale until "stripe sync" has made its
// new price and deactivated the old one.
func (b *Billing) UpdatePackage(ctx context.Context, actorID string, p Package) (Package, error) {
	if err := p.Validate(); err != nil {
		return Package{}, err
	}
	var out Package
	err := b.db.InTx(ctx, func(tx *database.Tx) error {
		old, err := packageWhere(ctx, tx, "id = ?", p.ID)
		if err != nil {
			return err
		}
		out = p
		out.StripePriceID, out.StripeProductID, out.StalePriceID = old.StripePriceID, old.StripeProductID, old.StalePriceID
		if (p.UnitAmount != old.UnitAmount || p.Currency != old.Currency) && old.StripePriceID != "" {
			if out.StalePriceID == "" {
				out.StalePriceID = old.StripePriceID
			}
			out.StripePriceID = ""
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE credit_packages SET name = ?, credits = ?, unit_amount = ?, currency = ?, sort_order = ?, active = ?,
			 stripe_price_id = ?, stale_price_id = ?, updated_at = ? WHERE id = ?`,
			out.Name, out.Credits, out.UnitAmount, out.Currency, out.SortOrder, out.Active,
			nullable(out.StripePriceID), nullable(out.StalePriceID), b.now(), out.ID); err != nil {
			return fmt.Errorf("update credit package %s: %w", out.ID, err)
		}
		return b.auditPackage(ctx, tx, actorID, "billing.package_updated", out)
	})
	return out, err
}

func (b *Billing) auditPackage(ctx context.Context, tx *database.Tx, actorID, action string, p Package) error {
	return audit.Record(ctx, tx, audit.Entry{At: b.now(), ActorID: actorID, TargetID: p.ID, Action: action,
		Detail: fmt.Sprintf("%s: %d credits for %s, order %d, active %v", p.Name, p.Credits, FormatAmount(p.UnitAmount, p.Currency), p.SortOrder, p.Active)})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// SyncReport says what a catalogue sync changed in Stripe.
type SyncReport struct {
	ProductsCreated, ProductsUpdated, PricesCreated, PricesDeactivated int
}

// SyncCatalogue makes Stripe sell what the catalogue says: a product per
// package (created once, its name and active flag kept up to date), a
// price per active package at its amount and currency, and the price a
// changed amount made obsolete deactivated. Every create carries an
// idempotency key derived from the package and what it creates, so a sync
// interrupted and run again makes nothing twice; each package's result is
// stored as soon as Stripe answers.
func (b *Billing) SyncCatalogue(ctx context.Context) (SyncReport, error) {
	var r SyncReport
	pkgs, err := b.Packages(ctx)
	if err != nil {
		return r, err
	}
	for _, p := range pkgs {
		if err := b.syncPackage(ctx, p, &r); err != nil {
			return r, fmt.Errorf("sync credit package %q: %w", p.Name, err)
		}
	}
	return r, nil
}

func (b *Billing) syncPackage(ctx context.Context, p Package, r *SyncReport) error {
	product := Product{PackageID: p.ID, Name: p.Name, Active: p.Active}
	if p.StripeProductID == "" {
		id, err := b.stripe.CreateProduct(ctx, product, "product-"+p.ID)
		if err != nil {
			return err
		}
		if err := b.setPackageColumn(ctx, b.db, p.ID, "stripe_product_id", id); err != nil {
			return err
		}
		p.StripeProductID = id
		r.ProductsCreated++
	} else {
		product.ID = p.StripeProductID
		if err := b.stripe.UpdateProduct(ctx, product); err != nil {
			return err
		}
		r.ProductsUpdated++
	}
	if p.Active && p.StripePriceID == "" {
		// The price it replaces is in the key: an amount set again (500,
		// 700, 500 within Stripe's 24 hours) makes a new price, where the
		// amount alone would replay the first, deactivated one.
		id, err := b.stripe.CreatePrice(ctx, NewPrice{ProductID: p.StripeProductID, UnitAmount: p.UnitAmount, Currency: p.Currency},
			fmt.Sprintf("price-%s-%d-%s-%s", p.ID, p.UnitAmount, p.Currency, p.StalePriceID))
		if err != nil {
			return err
		}
		if err := b.recordPrice(ctx, p, id); err != nil {
			return err
		}
		r.PricesCreated++
	}
	if p.StalePriceID != "" {
		if err := b.stripe.DeactivatePrice(ctx, p.StalePriceID); err != nil {
			return err
		}
		if err := b.setPackageColumn(ctx, b.db, p.ID, "stale_price_id", ""); err != nil {
			return err
		}
		r.PricesDeactivated++
	}
	return nil
}

// recordPrice makes priceID, made for p's amount and currency, the
// package's price, and keeps it among the package's prices for checkouts
// paid after it is replaced. A package whose price changed meanwhile keeps
// waiting for its own price: the price made is not sold.
func (b *Billing) recordPrice(ctx context.Context, p Package, priceID string) error {
	return b.db.InTx(ctx, func(tx *database.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO credit_package_prices (price_id, package_id, created_at) VALUES (?, ?, ?) ON CONFLICT (price_id) DO NOTHING",
			priceID, p.ID, b.now()); err != nil {
			return fmt.Errorf("record price %s of credit package %s: %w", priceID, p.ID, err)
		}
		res, err := tx.ExecContext(ctx, "UPDATE credit_packages SET stripe_price_id = ?, updated_at = ? WHERE id = ? AND unit_amount = ? AND currency = ?",
			priceID, b.now(), p.ID, p.UnitAmount, p.Currency)
		if err != nil {
			return fmt.Errorf("record price %s of credit package %s: %w", priceID, p.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record price %s of credit package %s: %w", priceID, p.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("credit package %s changed its price while the sync made price %s for %s: run \"stripe sync\" again",
				p.ID, priceID, FormatAmount(p.UnitAmount, p.Currency))
		}
		return nil
	})
}

// setPackageColumn records one Stripe id of a package; column is one of
// this file's constants, never input.
func (b *Billing) setPackageColumn(ctx context.Context, ex database.Execer, id, column, value string) error {
	_, err := ex.ExecContext(ctx, "UPDATE credit_packages SET "+column+" = ?, updated_at = ? WHERE id = ?", nullable(value), b.now(), id)
	if err != nil {
		return fmt.Errorf("record %s of credit package %s: %w", column, id, err)
	}
	return nil
}

// WebhookEvents are the events the app's endpoint subscribes to: those
// billing acts on.
var WebhookEvents = []string{EventCheckoutCompleted, EventAsyncPaymentSucceeded, EventAsyncPaymentFailed, EventCheckoutExpired,
	EventChargeRefunded, EventDisputeFundsWithdrawn, EventDisputeFundsReinstated, EventCustomerUpdated}

// CreateWebhookEndpoint creates the Stripe endpoint that delivers the
// events billing acts on to webhookURL, an absolute https address, pinned
// to stripe-go's API version. The answer holds the signing secret, which
// Stripe shows only this once.
func (b *Billing) CreateWebhookEndpoint(ctx context.Context, webhookURL string) (WebhookEndpoint, error) {
	u, err := url.Parse(webhookURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return WebhookEndpoint{}, fmt.Errorf("the webhook URL %q is not an absolute https address: Stripe delivers only to https, e.g. https://example.com/stripe/webhook", webhookURL)
	}
	return b.stripe.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{URL: u.String(), Events: WebhookEvents})
}
