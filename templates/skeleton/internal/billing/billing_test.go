package billing_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/billing/billingtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging"
	"github.com/quickscale/quickscale/templates/skeleton/internal/logging/logtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// shop is billing over a real database, with a Stripe the test controls
// and one package for sale.
type shop struct {
	db      *database.DB
	ledger  *credits.Ledger
	billing *billing.Billing
	stripe  *billingtest.Stripe
	logs    *logtest.Buffer
}

const (
	successURL = "https://app.example/credits/purchases/success?session_id={CHECKOUT_SESSION_ID}"
	cancelURL  = "https://app.example/credits"
)

func newShop(t testing.TB, db *database.DB, stripe *billingtest.Stripe) *shop {
	t.Helper()
	return newShopAt(t, db, stripe, clock.System{})
}

// newShopAt is a shop whose time is clk's.
func newShopAt(t testing.TB, db *database.DB, stripe *billingtest.Stripe, clk clock.Clock) *shop {
	t.Helper()
	logs := &logtest.Buffer{}
	ledger := credits.New(db, clk)
	s := &shop{db: db, ledger: ledger, stripe: stripe, logs: logs,
		billing: billing.New(billing.Options{DB: db, Ledger: ledger, Stripe: stripe, Clock: clk,
			Logger: logging.New(logs, "json", slog.LevelDebug), WebhookSecret: billingtest.WebhookSecret,
			Mail: billingtest.Mail(db, mail.NewOutbox(db, clk))})}
	return s
}

// addPackage puts a package on sale at Stripe price priceID.
func (s *shop) addPackage(t testing.TB, priceID string, credits, amount int64, currency string) billing.Package {
	t.Helper()
	p, err := s.billing.AddPackage(context.Background(), billing.Package{Name: "Pack " + priceID, Credits: credits,
		UnitAmount: amount, Currency: currency, Active: true, StripePriceID: priceID})
	require.NoError(t, err)
	s.stripe.AddPrice(priceID, amount, currency)
	return p
}

func (s *shop) checkout(t testing.TB, userID string, pkg billing.Package) (billing.Purchase, billing.CheckoutSession) {
	t.Helper()
	p, sess, err := s.billing.Checkout(context.Background(), billing.CheckoutRequest{
		Buyer:     billing.Buyer{UserID: userID, Email: userID + "@example.com", Name: "Buyer"},
		PackageID: pkg.ID, SuccessURL: successURL, CancelURL: cancelURL,
	})
	require.NoError(t, err)
	return p, sess
}

// assertGrantedOnce checks the ledger holds exactly one purchase entry
// of want credits for the user, the balance is want and the invariants
// hold.
func assertGrantedOnce(t testing.TB, db *database.DB, ledger *credits.Ledger, userID string, want int64) {
	t.Helper()
	ctx := context.Background()
	balance, err := ledger.Balance(ctx, userID)
	require.NoError(t, err)
	assert.Equal(t, want, balance, "balance")
	var n int
	var sum int64
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM credit_journal WHERE user_id = ? AND kind = 'purchase'", userID).Scan(&n, &sum))
	assert.Equal(t, 1, n, "purchase entries in the journal")
	assert.Equal(t, want, sum, "credits purchased")
	problems, err := ledger.Verify(ctx)
	require.NoError(t, err)
	assert.Empty(t, problems, "ledger invariants")
}

// TestFulfillGrantsOnceAcrossInstances: row 30. Fifty concurrent
// fulfillments of one paid session, on two instances, grant once.
func TestFulfillGrantsOnceAcrossInstances(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := dbtest.URL(t, d)
			stripe := billingtest.New()
			// Two instances of the application: two pools, two ledgers.
			one, two := newShop(t, dbtest.OpenURL(t, url), stripe), newShop(t, dbtest.OpenURL(t, url), stripe)
			pkg := one.addPackage(t, "price_100", 100, 500, "usd")
			user := dbtest.NewUser(t, one.db)
			purchase, sess := one.checkout(t, user, pkg)
			require.Equal(t, billing.StatusPending, purchase.Status)

			outcome, err := one.billing.Fulfill(ctx, sess.ID)
			require.NoError(t, err)
			require.Equal(t, billing.NotPaid, outcome, "an unpaid session grants nothing")
			stripe.Pay(sess.ID)

			const calls = 50
			var wg sync.WaitGroup
			outcomes := make(chan billing.Outcome, calls)
			for i := range calls {
				s := []*shop{one, two}[i%2]
				wg.Go(func() {
					o, err := s.billing.Fulfill(ctx, sess.ID)
					assert.NoError(t, err)
					outcomes <- o
				})
			}
			wg.Wait()
			close(outcomes)
			counts := map[billing.Outcome]int{}
			for o := range outcomes {
				counts[o]++
			}
			assert.Equal(t, map[billing.Outcome]int{billing.Granted: 1, billing.AlreadyGranted: calls - 1}, counts)
			assertGrantedOnce(t, one.db, one.ledger, user, 100)

			got, err := one.billing.Purchase(ctx, purchase.ID)
			require.NoError(t, err)
			assert.Equal(t, billing.StatusPaid, got.Status)
			assert.Equal(t, sess.ID, got.CheckoutSessionID)
			assert.NotEmpty(t, got.PaymentIntentID, "the payment intent is kept, for refunds")
			entry, err := one.ledger.Entry(ctx, user, got.JournalID)
			require.NoError(t, err, "the purchase names its ledger entry")
			assert.Equal(t, purchase.ID, entry.Reference, "the entry names the purchase")
		})
	}
}

// A session whose id was never stored (the process stopped between
// Stripe's answer and the update) is found by its client_reference_id.
func TestFulfillFindsPurchaseByClientReference(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, dbtest.Open(t, database.SQLite), billingtest.New())
	pkg := s.addPackage(t, "price_100", 100, 500, "usd")
	user := dbtest.NewUser(t, s.db)
	purchase, sess := s.checkout(t, user, pkg)
	_, err := s.db.ExecContext(ctx, "UPDATE purchases SET checkout_session_id = NULL WHERE id = ?", purchase.ID)
	require.NoError(t, err)
	s.stripe.Pay(sess.ID)
	outcome, err := s.billing.Fulfill(ctx, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, billing.Granted, outcome)
	got, err := s.billing.Purchase(ctx, purchase.ID)
	require.NoError(t, err)
	assert.Equal(t, sess.ID, got.CheckoutSessionID)
	assertGrantedOnce(t, s.db, s.ledger, user, 100)
}

// TestFulfillRefusesWhatOurCatalogueDidNotSell: row 53.
func TestFulfillRefusesWhatOurCatalogueDidNotSell(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			tests := []struct {
				name   string
				edit   func(c *billing.CheckoutSession)
				reason string
			}{
				{"wrong amount", func(c *billing.CheckoutSession) { c.AmountTotal, c.LineItems[0].AmountTotal = 1, 1 },
					"the amount paid is not the package's price"},
				{"wrong currency", func(c *billing.CheckoutSession) { c.Currency, c.LineItems[0].Currency = "jpy", "jpy" },
					"the amount paid is not the package's price"},
				{"unknown price", func(c *billing.CheckoutSession) { c.LineItems[0].PriceID = "price_elsewhere" },
					"the price paid is not in our catalogue"},
				{"another package's price", func(c *billing.CheckoutSession) { c.LineItems[0].PriceID = "price_big" },
					"the price paid is another package's"},
				{"two packages", func(c *billing.CheckoutSession) { c.LineItems = append(c.LineItems, c.LineItems[0]) },
					"a purchase is one package, once"},
				{"quantity", func(c *billing.CheckoutSession) { c.LineItems[0].Quantity = 3 },
					"a purchase is one package, once"},
				{"no purchase of ours", func(c *billing.CheckoutSession) { c.ClientReferenceID = "someone-elses" },
					"no purchase of ours"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := context.Background()
					s := newShop(t, dbtest.Open(t, d), billingtest.New())
					pkg := s.addPackage(t, "price_100", 100, 500, "usd")
					// Same price, many more credits: paying its price id for
					// the small package's purchase must not get them.
					s.addPackage(t, "price_big", 10000, 500, "usd")
					user := dbtest.NewUser(t, s.db)
					purchase, sess := s.checkout(t, user, pkg)
					s.stripe.Pay(sess.ID)
					s.stripe.Change(sess.ID, tt.edit)
					outcome, err := s.billing.Fulfill(ctx, sess.ID)
					require.NoError(t, err)
					assert.Equal(t, billing.Refused, outcome)
					balance, err := s.ledger.Balance(ctx, user)
					require.NoError(t, err)
					assert.Zero(t, balance, "credits granted")
					got, err := s.billing.Purchase(ctx, purchase.ID)
					require.NoError(t, err)
					assert.Equal(t, billing.StatusPending, got.Status)
					assert.Contains(t, s.logs.String(), tt.reason, "the log says why nothing was granted")
					assert.Contains(t, s.logs.String(), `"level":"ERROR"`, "a refusal is logged as an error, for an administrator")
				})
			}
		})
	}
}

func TestCheckoutRefusesWhatIsNotForSale(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, dbtest.Open(t, database.SQLite), billingtest.New())
	user := dbtest.NewUser(t, s.db)
	unsynced, err := s.billing.AddPackage(ctx, billing.Package{Name: "Later", Credits: 10, UnitAmount: 100, Currency: "usd", Active: true})
	require.NoError(t, err)
	inactive := s.addPackage(t, "price_old", 10, 100, "usd")
	_, err = s.db.ExecContext(ctx, "UPDATE credit_packages SET active = FALSE WHERE id = ?", inactive.ID)
	require.NoError(t, err)
	for _, id := range []string{unsynced.ID, inactive.ID} {
		_, _, err := s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: user}, PackageID: id,
			SuccessURL: successURL, CancelURL: cancelURL})
		assert.ErrorIs(t, err, billing.ErrNotForSale)
	}
	_, _, err = s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: user}, PackageID: "nope",
		SuccessURL: successURL, CancelURL: cancelURL})
	assert.ErrorIs(t, err, billing.ErrNoPackage)
	_, _, err = s.billing.Checkout(ctx, billing.CheckoutRequest{Buyer: billing.Buyer{UserID: user}, PackageID: inactive.ID,
		SuccessURL: "https://app.example/success", CancelURL: cancelURL})
	assert.ErrorContains(t, err, "{CHECKOUT_SESSION_ID}")
	var purchases int
	require.NoError(t, s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM purchases").Scan(&purchases))
	assert.Zero(t, purchases, "a refused checkout records no purchase")
}

// One customer per user, however many purchases: row 57.
func TestCustomerCreatedOnceAtFirstPurchase(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, dbtest.Open(t, database.SQLite), billingtest.New())
	pkg := s.addPackage(t, "price_100", 100, 500, "usd")
	user := dbtest.NewUser(t, s.db)
	_, first := s.checkout(t, user, pkg)
	_, second := s.checkout(t, user, pkg)
	assert.NotEmpty(t, first.CustomerID)
	assert.Equal(t, first.CustomerID, second.CustomerID, "the second purchase reuses the customer")
	var n int
	require.NoError(t, s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM stripe_customers WHERE user_id = ?", user).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestPackageRules(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := newShop(t, dbtest.Open(t, d), billingtest.New())
			_, err := s.billing.AddPackage(ctx, billing.Package{Name: " ", Credits: 0, UnitAmount: -1, Currency: "dollars"})
			for _, want := range []string{"needs a name", "from 1 to", "smallest unit", "ISO 4217"} {
				assert.ErrorContains(t, err, want)
			}
			p, err := s.billing.AddPackage(ctx, billing.Package{Name: " Yen pack ", Credits: 50, UnitAmount: 500, Currency: "JPY", Active: true})
			require.NoError(t, err)
			assert.Equal(t, "jpy", p.Currency, "the currency is stored as Stripe writes it")
			assert.Equal(t, "Yen pack", p.Name)
			got, err := s.billing.Package(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, p, got)

			// The schema holds the same rules for any writer.
			now := time.Now().UTC()
			for name, row := range map[string][]any{
				"upper-case currency": {"a", "A", 1, 1, "USD"},
				"zero credits":        {"b", "B", 0, 1, "usd"},
				"zero amount":         {"c", "C", 1, 0, "usd"},
			} {
				_, err := s.db.ExecContext(ctx, `INSERT INTO credit_packages (id, name, credits, unit_amount, currency, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, append(row, now, now)...)
				assert.Error(t, err, "the schema takes a package with %s", name)
			}
		})
	}
}
