package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func packageValues(name, credits, price, currency, order string, active bool) url.Values {
	v := url.Values{"name": {name}, "credits": {credits}, "price": {price}, "currency": {currency}, "order": {order}}
	if active {
		v.Set("active", "on")
	}
	return v
}

// Administrators add and edit the catalogue: bad input is refused with a
// sentence per problem and nothing written; a zero-decimal currency takes
// whole units; a new price takes the package off sale until synced; a
// stale session changes nothing.
func TestAdminPackages(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s, admin := adminShop(t, d)
			ctx := context.Background()
			before, err := s.billing.Packages(ctx)
			require.NoError(t, err)

			resp, body := admin.post("/admin/packages", packageValues(" ", "lots", "9,50", "eur", "x", true))
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			for _, want := range []string{"Credits: &#34;lots&#34; is not a whole number", "Price: &#34;9,50&#34; is not an amount in EUR", "Order: &#34;x&#34; is not a whole number"} {
				assert.True(t, strings.Contains(body, want), "the page says %q", want)
			}
			resp, body = admin.post("/admin/packages", packageValues(" ", "0", "10.5", "jpy", "", true))
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			assert.True(t, strings.Contains(body, "Price: &#34;10.5&#34; is not an amount in JPY: write whole digits"), "yen have no minor unit")
			resp, body = admin.post("/admin/packages", packageValues(" ", "0", "1", "jpy", "", true))
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			assert.True(t, strings.Contains(body, "A credit package needs a name") && strings.Contains(body, "holds from 1 to"), "the catalogue's own rules")
			after, err := s.billing.Packages(ctx)
			require.NoError(t, err)
			assert.Len(t, after, len(before), "nothing written")

			resp, _ = admin.post("/admin/packages", packageValues("Yen pack", "1000", "800", "JPY", "3", true))
			wantRedirect(t, resp, http.StatusSeeOther, "/admin/packages")
			_, body = admin.get("/admin/packages")
			assert.Contains(t, body, "800 JPY")
			assert.Contains(t, body, "awaiting stripe sync")

			pkg, err := s.billing.Package(ctx, s.purchase.PackageID)
			require.NoError(t, err)
			resp, _ = admin.post("/admin/packages/"+pkg.ID, packageValues("Starter", "250", "12.00", "eur", "1", true))
			wantRedirect(t, resp, http.StatusSeeOther, "/admin/packages/"+pkg.ID)
			pkg, err = s.billing.Package(ctx, pkg.ID)
			require.NoError(t, err)
			assert.EqualValues(t, 1200, pkg.UnitAmount)
			assert.Empty(t, pkg.StripePriceID, "off sale until synced")
			assert.Equal(t, "price_starter", pkg.StalePriceID, "the old price, for the sync to deactivate")
			_, _, err = s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: s.user}, PackageID: pkg.ID,
				SuccessURL: "https://example.com/s?session_id={CHECKOUT_SESSION_ID}"})
			assert.ErrorIs(t, err, billing.ErrNotForSale)

			resp, _ = admin.get("/admin/packages/nope")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)

			// Row 64: the catalogue sets what buyers pay: a stale session
			// is sent to reauthenticate first, and nothing is written.
			before, err = s.billing.Packages(ctx)
			require.NoError(t, err)
			s.clock.Advance(11 * time.Minute)
			resp, _ = admin.post("/admin/packages", packageValues("Stale", "10", "1.00", "eur", "", true))
			wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate")
			resp, _ = admin.post("/admin/packages/"+pkg.ID, packageValues("Stale", "1", "0.01", "eur", "1", true))
			wantRedirect(t, resp, http.StatusSeeOther, "/reauthenticate")
			after, err = s.billing.Packages(ctx)
			require.NoError(t, err)
			assert.Equal(t, before, after, "nothing written without a fresh password")
		})
	}
}
