package billing_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

// starterShop is a shop on d with a 5.00 USD package, not yet synced.
func starterShop(t *testing.T, d database.Dialect) (*shop, billing.Package) {
	t.Helper()
	s := newShop(t, dbtest.Open(t, d), billingtest.New())
	pkg, err := s.billing.CreatePackage(context.Background(), "admin",
		billing.Package{Name: "Starter", Credits: 100, UnitAmount: 500, Currency: "usd", Active: true})
	require.NoError(t, err)
	return s, pkg
}

// Row 65: the sync makes a product and a price per package once, however often
// it runs; a new amount takes the package off sale until the sync makes
// its new price and deactivates the old one, and going back to an old
// amount makes a new price again; a zero-decimal currency's amount goes
// to Stripe as it is.
func TestSyncCatalogue(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s, starter := starterShop(t, d)
			yen, err := s.billing.CreatePackage(ctx, "admin", billing.Package{Name: "Yen", Credits: 100, UnitAmount: 800, Currency: "JPY", Active: true, SortOrder: 2})
			require.NoError(t, err)
			user := dbtest.NewUser(t, s.db)
			_, _, err = s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: user}, PackageID: starter.ID, SuccessURL: successURL})
			require.ErrorIs(t, err, billing.ErrNotForSale, "not for sale before the sync")

			r, err := s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)
			assert.Equal(t, billing.SyncReport{ProductsCreated: 2, PricesCreated: 2}, r)
			r, err = s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)
			assert.Equal(t, billing.SyncReport{ProductsUpdated: 2}, r, "a second sync makes nothing new")
			cat := s.stripe.Catalogue()
			require.Len(t, cat.Products, 2)
			require.Len(t, cat.Prices, 2)
			yen, err = s.billing.Package(ctx, yen.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.NewPrice{ProductID: yen.StripeProductID, UnitAmount: 800, Currency: "jpy"}, cat.Prices[yen.StripePriceID].NewPrice,
				"800 yen is 800 in Stripe's units")
			s.checkout(t, user, mustPackage(t, s, starter.ID))

			starter = mustPackage(t, s, starter.ID)
			oldPrice := starter.StripePriceID
			starter.UnitAmount, starter.Name = 700, "Starter+"
			starter, err = s.billing.UpdatePackage(ctx, "admin", starter)
			require.NoError(t, err)
			assert.Empty(t, starter.StripePriceID, "off sale until synced")
			_, _, err = s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: user}, PackageID: starter.ID, SuccessURL: successURL})
			require.ErrorIs(t, err, billing.ErrNotForSale)
			r, err = s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)
			assert.Equal(t, billing.SyncReport{ProductsUpdated: 2, PricesCreated: 1, PricesDeactivated: 1}, r)
			cat = s.stripe.Catalogue()
			assert.False(t, cat.Prices[oldPrice].Active, "the old price is deactivated")
			starter = mustPackage(t, s, starter.ID)
			assert.EqualValues(t, 700, cat.Prices[starter.StripePriceID].UnitAmount)
			assert.True(t, cat.Prices[starter.StripePriceID].Active)
			assert.Equal(t, "Starter+", cat.Products[starter.StripeProductID].Name, "the product's name follows")
			s.checkout(t, user, starter)

			entries, err := audit.NewLog(s.db).Recent(ctx, starter.ID, 10)
			require.NoError(t, err)
			require.Len(t, entries, 2, "created and updated, each in the audit log")
			assert.Equal(t, "billing.package_updated", entries[0].Action)
			assert.Contains(t, entries[0].Detail, "7.00 USD")

			// Back to 5.00 within a day: a new price, not the first one,
			// which Stripe would replay deactivated.
			starter.UnitAmount = 500
			_, err = s.billing.UpdatePackage(ctx, "admin", starter)
			require.NoError(t, err)
			_, err = s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)
			starter = mustPackage(t, s, starter.ID)
			cat = s.stripe.Catalogue()
			assert.NotEqual(t, oldPrice, starter.StripePriceID, "not the deactivated first price")
			assert.True(t, cat.Prices[starter.StripePriceID].Active, "the package's price is on sale")
			assert.EqualValues(t, 500, cat.Prices[starter.StripePriceID].UnitAmount)
			s.checkout(t, user, starter)
		})
	}
}

// Row 65: a package whose amount changes while the sync makes its price
// is not sold at the price made: it waits for the next sync, which makes
// its own.
func TestSyncCataloguePriceChangedMeanwhile(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s, pkg := starterShop(t, d)
			s.stripe.AfterPriceMade(func() {
				changed := pkg
				changed.UnitAmount = 900
				_, err := s.billing.UpdatePackage(ctx, "admin", changed)
				assert.NoError(t, err)
			})
			_, err := s.billing.SyncCatalogue(ctx)
			require.ErrorContains(t, err, "changed its price while the sync made price")
			assert.Empty(t, mustPackage(t, s, pkg.ID).StripePriceID, "not sold at 5.00")

			_, err = s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)
			pkg = mustPackage(t, s, pkg.ID)
			assert.EqualValues(t, 900, s.stripe.Catalogue().Prices[pkg.StripePriceID].UnitAmount)
		})
	}
}

// Row 65: a sync that fails mid-way, even after Stripe made what it asked for,
// makes nothing twice when run again: the idempotency keys come from the
// package and what is made.
func TestSyncCatalogueResumes(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, dbtest.Open(t, "sqlite"), billingtest.New())
	_, err := s.billing.CreatePackage(ctx, "admin", billing.Package{Name: "Starter", Credits: 100, UnitAmount: 500, Currency: "usd", Active: true})
	require.NoError(t, err)
	s.stripe.FailCatalogueCalls(1, true)
	_, err = s.billing.SyncCatalogue(ctx)
	require.ErrorIs(t, err, billingtest.ErrUnavailable)
	_, err = s.billing.SyncCatalogue(ctx)
	require.NoError(t, err)
	cat := s.stripe.Catalogue()
	assert.Len(t, cat.Products, 1, "one product")
	assert.Len(t, cat.Prices, 1, "one price")
}

func TestPackageValidation(t *testing.T) {
	s := newShop(t, dbtest.Open(t, "sqlite"), billingtest.New())
	_, err := s.billing.CreatePackage(context.Background(), "admin", billing.Package{Name: " ", Credits: 0, UnitAmount: -1, Currency: "dollars"})
	require.Error(t, err)
	for _, want := range []string{"needs a name", "from 1 to", "positive amount", "three-letter ISO 4217 code"} {
		assert.ErrorContains(t, err, want)
	}
	pkgs, err := s.billing.Packages(context.Background())
	require.NoError(t, err)
	assert.Empty(t, pkgs, "nothing written")
}

func TestCreateWebhookEndpoint(t *testing.T) {
	stripe := billingtest.New()
	s := newShop(t, dbtest.Open(t, "sqlite"), stripe)
	for _, bad := range []string{"http://example.com/stripe/webhook", "example.com/stripe/webhook", "https://", ":"} {
		_, err := s.billing.CreateWebhookEndpoint(context.Background(), bad)
		assert.ErrorContains(t, err, "not an absolute https address", bad)
	}
	ep, err := s.billing.CreateWebhookEndpoint(context.Background(), "https://example.com/stripe/webhook")
	require.NoError(t, err)
	assert.NotEmpty(t, ep.Secret)
	require.Len(t, stripe.Catalogue().Endpoints, 1)
	assert.ElementsMatch(t, billing.WebhookEvents, stripe.Catalogue().Endpoints[0].Events)
}

func mustPackage(t *testing.T, s *shop, id string) billing.Package {
	t.Helper()
	p, err := s.billing.Package(context.Background(), id)
	require.NoError(t, err)
	return p
}

// Row 53: a buyer at the checkout when the package's price changes (and the sync
// deactivates the old price) still gets what they were offered for what
// they paid; a new checkout sells at the new price.
func TestFulfillAcrossAPriceChange(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			pkg, err := s.billing.CreatePackage(ctx, "admin", billing.Package{Name: "Starter", Credits: 100, UnitAmount: 500, Currency: "usd", Active: true})
			require.NoError(t, err)
			_, err = s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)
			user := dbtest.NewUser(t, s.db)
			_, old := s.checkout(t, user, mustPackage(t, s, pkg.ID))

			pkg = mustPackage(t, s, pkg.ID)
			pkg.UnitAmount, pkg.Credits = 700, 150
			_, err = s.billing.UpdatePackage(ctx, "admin", pkg)
			require.NoError(t, err)
			_, err = s.billing.SyncCatalogue(ctx)
			require.NoError(t, err)

			s.stripe.Pay(old.ID)
			out, err := s.billing.Fulfill(ctx, old.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.Granted, out, "paid at the old price: %s", s.logs.String())
			assertGrantedOnce(t, s.db, s.ledger, user, 100)

			other := dbtest.NewUser(t, s.db)
			_, fresh := s.checkout(t, other, mustPackage(t, s, pkg.ID))
			s.stripe.Pay(fresh.ID)
			out, err = s.billing.Fulfill(ctx, fresh.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.Granted, out)
			assertGrantedOnce(t, s.db, s.ledger, other, 150)
		})
	}
}
