package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
)

func stripeCommand() *command {
	return &command{name: "stripe", summary: "Set up Stripe: the catalogue's products and prices, the webhook endpoint.", sub: []*command{
		{name: "sync", summary: "Create or update the Stripe products and prices of the credit packages.", flags: noFlags(stripeSync),
			detail: "A package whose amount or currency changed gets a new price, and its old one is deactivated:\n" +
				"Stripe cannot change a price's amount. Every create carries an idempotency key from the package,\n" +
				"so running it again after a failure makes nothing twice.\n"},
		{name: "webhook", summary: "Manage the Stripe webhook endpoint.", sub: []*command{
			{name: "create", summary: "Create the endpoint for the events the app acts on and print its signing secret, once.",
				synopsis: "--url https://HOST/stripe/webhook", flags: stripeWebhookCreate,
				detail: "The endpoint is pinned to API version " + stripe.APIVersion + ", the one the app verifies.\n" +
					"Put the printed secret in STRIPE_WEBHOOK_SECRET: Stripe does not show it again.\n"},
		}},
	}}
}

// errStripeOff says what the stripe commands need.
var errStripeOff = errors.New("payments are off: set STRIPE_ENABLED=true with STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET (a placeholder whsec_ value will do until \"stripe webhook create\" prints the real one)")

// withBilling runs fn with the app's billing, refusing when payments are
// off.
func withBilling(ctx context.Context, inv invocation, fn func(a *app) error) error {
	a, err := newApp(ctx, inv)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.billing == nil {
		return errStripeOff
	}
	return fn(a)
}

func stripeSync(ctx context.Context, inv invocation) error {
	return withBilling(ctx, inv, func(a *app) error {
		r, err := a.billing.SyncCatalogue(ctx)
		if err != nil {
			return fmt.Errorf("stripe sync: %w; what was made is recorded, run it again", err)
		}
		fmt.Fprintf(inv.stdout, "Products: %d created, %d updated. Prices: %d created, %d deactivated.\n",
			r.ProductsCreated, r.ProductsUpdated, r.PricesCreated, r.PricesDeactivated)
		return nil
	})
}

func stripeWebhookCreate(fs *flag.FlagSet) func(context.Context, invocation) error {
	webhookURL := fs.String("url", "", "the app's public webhook address, https://HOST/stripe/webhook (required)")
	return func(ctx context.Context, inv invocation) error {
		if *webhookURL == "" {
			return inv.usageError("stripe webhook create needs --url https://HOST/stripe/webhook")
		}
		return withBilling(ctx, inv, func(a *app) error {
			ep, err := a.billing.CreateWebhookEndpoint(ctx, *webhookURL)
			if err != nil {
				return fmt.Errorf("stripe webhook create: %w", err)
			}
			fmt.Fprintf(inv.stderr, "Created webhook endpoint %s (API version %s) for %d events. Its signing secret, shown once, is on stdout: put it in STRIPE_WEBHOOK_SECRET.\n",
				ep.ID, ep.APIVersion, len(billing.WebhookEvents))
			fmt.Fprintln(inv.stdout, ep.Secret)
			return nil
		})
	}
}
