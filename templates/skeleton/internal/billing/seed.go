package billing

import (
	"context"
	"fmt"
)

// SeedCatalogue puts the packages on sale when the catalogue holds none,
// active or not, and says how many it added. A catalogue whose packages
// were all deactivated is left so: it is the owner's choice, and a price
// id is in the catalogue once (stripe_price_id is UNIQUE). Two processes
// starting at once may both find it empty: a package the other added
// first is skipped.
func (b *Billing) SeedCatalogue(ctx context.Context, packages []Package) (int, error) {
	var existing int
	if err := b.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM credit_packages").Scan(&existing); err != nil {
		return 0, fmt.Errorf("count the credit packages: %w", err)
	}
	if existing > 0 {
		return 0, nil
	}
	added := 0
	for _, p := range packages {
		_, err := b.AddPackage(ctx, p)
		if err == nil {
			added++
			continue
		}
		if _, found := b.PackageByPrice(ctx, p.StripePriceID); found != nil {
			return added, err
		}
	}
	return added, nil
}
