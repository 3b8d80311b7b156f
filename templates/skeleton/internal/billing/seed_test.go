package billing_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

var demo = []billing.Package{
	{Name: "Small", Credits: 100, UnitAmount: 500, Currency: "eur", SortOrder: 1, Active: true, StripePriceID: "price_demo_small"},
	{Name: "Large", Credits: 500, UnitAmount: 2000, Currency: "eur", SortOrder: 2, Active: true, StripePriceID: "price_demo_large"},
}

// The demo catalogue is seeded into an empty catalogue only: once its
// packages are deactivated a restart neither fails nor brings them back,
// and processes starting at once seed it once between them.
func TestSeedCatalogue(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			var wg sync.WaitGroup
			added := make([]int, 4)
			for i := range added {
				wg.Go(func() {
					n, err := s.billing.SeedCatalogue(ctx, demo)
					assert.NoError(t, err, "a process starting beside another")
					added[i] = n
				})
			}
			wg.Wait()
			sold, err := s.billing.ForSale(ctx)
			require.NoError(t, err)
			require.Len(t, sold, len(demo), "seeded once")
			total := 0
			for _, n := range added {
				total += n
			}
			assert.Equal(t, len(demo), total, "each package added once")

			_, err = s.db.ExecContext(ctx, "UPDATE credit_packages SET active = FALSE")
			require.NoError(t, err)
			n, err := s.billing.SeedCatalogue(ctx, demo)
			require.NoError(t, err, "a restart once the demo packages are deactivated")
			assert.Zero(t, n)
			sold, err = s.billing.ForSale(ctx)
			require.NoError(t, err)
			assert.Empty(t, sold, "deactivated packages stay so")
		})
	}
}
