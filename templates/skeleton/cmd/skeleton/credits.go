package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// cliActor is the actor the audit log names for changes made from the
// command line, where no signed-in administrator exists.
const cliActor = "cli"

func creditsCommand() *command {
	return &command{name: "credits", summary: "Give, adjust, show and check credits.", sub: []*command{
		{name: "grant", summary: "Give credits to an account.",
			synopsis: "--email ADDRESS --amount N [--expires 720h|2030-12-31] [--reason TEXT]", flags: creditsGrant},
		{name: "adjust", summary: "Add or deduct credits with an audited reason.",
			synopsis: "--email ADDRESS --amount +N|-N --reason TEXT", flags: creditsAdjust},
		{name: "show", summary: "Show an account's balance and latest journal entries.",
			synopsis: "--email ADDRESS [--limit N]", flags: creditsShow},
		{name: "check", summary: "Verify every balance against its journal and lots.", flags: noFlags(creditsCheck)},
	}}
}

func creditsGrant(fs *flag.FlagSet) func(context.Context, invocation) error {
	email := fs.String("email", "", "the account's email address (required)")
	amount := fs.String("amount", "", "how many credits, a whole number above 0 (required)")
	expires := fs.String("expires", "", "when the credits expire: a duration (720h) or a date (2030-12-31); default never")
	reason := fs.String("reason", "", "why, for the journal")
	return func(ctx context.Context, inv invocation) error {
		if *email == "" {
			return inv.usageError("credits grant needs --email ADDRESS")
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(*amount, "+"), 10, 64)
		if err != nil || n <= 0 {
			return inv.usageError("credits grant needs --amount N, a whole number above 0")
		}
		var expiresAt time.Time
		if *expires != "" {
			if expiresAt, err = parseExpiry(*expires, inv.clock.Now()); err != nil {
				return inv.usageError("credits grant --expires: " + err.Error())
			}
		}
		return withAccount(ctx, inv, *email, func(a *app, u accounts.User) error {
			res, err := a.credits.Ledger.Add(ctx, credits.Credit{UserID: u.ID, Kind: credits.KindGrant, Amount: n, Source: cliActor,
				ExpiresAt: expiresAt, ActorID: cliActor, Reason: *reason})
			if err != nil {
				return fmt.Errorf("credits grant: %w", err)
			}
			fmt.Fprintf(inv.stdout, "Granted %d credits to %s; the balance is now %d.\n", n, u.Email, res.Balance)
			return nil
		})
	}
}

func creditsAdjust(fs *flag.FlagSet) func(context.Context, invocation) error {
	email := fs.String("email", "", "the account's email address (required)")
	amount := fs.String("amount", "", "+N adds, -N deducts (required)")
	reason := fs.String("reason", "", "why, for the audit log (required)")
	return func(ctx context.Context, inv invocation) error {
		if *email == "" {
			return inv.usageError("credits adjust needs --email ADDRESS")
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(*amount, "+"), 10, 64)
		if err != nil || n == 0 {
			return inv.usageError("credits adjust needs --amount +N or -N, a whole number other than 0")
		}
		return withAccount(ctx, inv, *email, func(a *app, u accounts.User) error {
			res, err := a.credits.Ledger.Adjust(ctx, credits.Adjustment{UserID: u.ID, ActorID: cliActor, Amount: n, Reason: *reason})
			if err != nil {
				return fmt.Errorf("credits adjust: %w", err)
			}
			fmt.Fprintf(inv.stdout, "Adjusted %s by %+d credits; the balance is now %d.\n", u.Email, n, res.Balance)
			return nil
		})
	}
}

func creditsShow(fs *flag.FlagSet) func(context.Context, invocation) error {
	email := fs.String("email", "", "the account's email address (required)")
	limit := fs.Int("limit", 20, "how many journal entries to list")
	return func(ctx context.Context, inv invocation) error {
		if *email == "" {
			return inv.usageError("credits show needs --email ADDRESS")
		}
		return withAccount(ctx, inv, *email, func(a *app, u accounts.User) error {
			return showCredits(ctx, a.credits.Ledger, u, *limit, inv.stdout)
		})
	}
}

// withAccount runs fn on the application with the account that has email.
func withAccount(ctx context.Context, inv invocation, email string, fn func(a *app, u accounts.User) error) error {
	a, err := newApp(ctx, inv)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.accounts.Users.ByEmail(ctx, email)
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no account has the address %s: check the spelling, or create it with createadmin", email)
	}
	if err != nil {
		return err
	}
	return fn(a, u)
}

func parseExpiry(raw string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(raw); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, raw); err == nil && t.After(now) {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a positive duration (720h) nor a future date (2030-12-31)", raw)
}

func showCredits(ctx context.Context, ledger *credits.Ledger, u accounts.User, limit int, stdout io.Writer) error {
	balance, err := ledger.Balance(ctx, u.ID)
	if err != nil {
		return err
	}
	page, err := ledger.Journal(ctx, credits.Filter{UserID: u.ID, PerPage: max(1, limit)})
	if err != nil {
		return err
	}
	debt, err := ledger.Debt(ctx, u.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d credits (%d journal entries)\n", u.Email, balance, page.Total)
	if debt > 0 {
		fmt.Fprintf(stdout, "Owes %d credits from reversed payments; the next credits in pay them first.\n", debt)
	}
	if len(page.Entries) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tKIND\tAMOUNT\tBALANCE\tSERVICE\tREASON")
	for _, e := range page.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%+d\t%d\t%s\t%s\n", e.CreatedAt.UTC().Format("2006-01-02 15:04:05"), e.Kind.Label(), e.Amount, e.BalanceAfter, e.Service, e.Reason)
	}
	return tw.Flush()
}

// creditsCheck verifies every account's books and fails when any is off.
func creditsCheck(ctx context.Context, inv invocation) error {
	a, err := newApp(ctx, inv)
	if err != nil {
		return err
	}
	defer a.Close()
	problems, err := a.credits.Ledger.Verify(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(inv.stdout, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the credit ledger has %d problems (listed above): restore from a backup or correct them with adjustments", len(problems))
	}
	fmt.Fprintln(inv.stdout, "The credit ledger is consistent: every balance equals its journal and its lots, and every debt its payments.")
	return nil
}

func apikeyCommand() *command {
	return &command{name: "apikey", summary: "Make API keys.", sub: []*command{
		{name: "create", summary: "Make an API key for an account; the key alone is printed on stdout, once.",
			synopsis: "--email ADDRESS --name NAME", flags: apikeyCreate},
	}}
}

func apikeyCreate(fs *flag.FlagSet) func(context.Context, invocation) error {
	email := fs.String("email", "", "the account the key acts for (required)")
	name := fs.String("name", "", "what the key is for, e.g. \"build server\" (required)")
	return func(ctx context.Context, inv invocation) error {
		if *email == "" || *name == "" {
			return inv.usageError("apikey create needs --email ADDRESS and --name NAME")
		}
		return withAccount(ctx, inv, *email, func(a *app, u accounts.User) error {
			key, token, err := a.credits.Keys.Create(ctx, u.ID, *name, func(ctx context.Context, tx *database.Tx, k apikeys.Key) error {
				return a.accounts.Users.NotifyAPIKeyCreated(ctx, tx, u, k.Name, k.Prefix, k.CreatedAt)
			})
			if err != nil {
				return fmt.Errorf("apikey create: %w", err)
			}
			// The token alone goes to stdout, so scripts can capture it; the
			// explanation goes to stderr.
			fmt.Fprintf(inv.stderr, "Created API key %q (%s) for %s. It is shown only now: store it safely.\n", key.Name, key.Prefix, u.Email)
			fmt.Fprintln(inv.stdout, token)
			return nil
		})
	}
}
