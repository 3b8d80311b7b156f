package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web"
)

// creditParts builds the ledger, the declared services, the API keys and
// the job queue that sends credit notices and sweeps expired credits.
func creditParts(cfg config.Config, db *database.DB, logger *slog.Logger, users *accounts.Users, outbox *mail.Outbox) (web.Credits, *jobs.Queue, error) {
	ledger := credits.New(db)
	registry := services.NewRegistry(ledger, logger)
	if err := services.Defaults(registry); err != nil {
		return web.Credits{}, nil, err
	}
	composer, err := mail.NewComposer(appName, cfg.BaseURL.String())
	if err != nil {
		return web.Credits{}, nil, err
	}
	creditsURL := strings.TrimSuffix(cfg.BaseURL.String(), "/") + "/credits"
	queue := jobs.New(db, logger)

	// The notice is queued in the debit's own transaction: it exists
	// exactly when the debit does.
	ledger.OnLowBalance(func(ctx context.Context, tx *database.Tx, userID string, balance, threshold int64) error {
		payload, _ := json.Marshal(lowBalanceJob{UserID: userID, Balance: balance, Threshold: threshold})
		_, err := jobs.Enqueue(ctx, tx, jobLowBalance, "", string(payload), time.Now())
		return err
	})
	queue.HandleTx(jobLowBalance, func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
		var p lowBalanceJob
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return fmt.Errorf("read the low-balance job: %w", err)
		}
		u, err := users.ByID(ctx, p.UserID)
		if errors.Is(err, accounts.ErrNotFound) {
			return nil // the account is gone: nobody to tell
		}
		if err != nil {
			return err
		}
		m, err := composer.Compose("low_balance", u.Email, mail.Data{Name: u.Name, Link: creditsURL, Lines: []string{
			fmt.Sprintf("Balance: %d credits", p.Balance),
			fmt.Sprintf("Your notice level: %d credits", p.Threshold),
		}})
		if err != nil {
			return err
		}
		return outbox.Enqueue(ctx, tx, m)
	})
	queue.HandleTx(jobWeeklySummary, func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
		end, err := time.Parse(time.RFC3339, j.Payload)
		if err != nil {
			return fmt.Errorf("read the weekly summary job: %w", err)
		}
		weeks, err := ledger.WeeklySummaries(ctx, end.AddDate(0, 0, -7), end)
		if err != nil {
			return err
		}
		for _, w := range weeks {
			u, err := users.ByID(ctx, w.UserID)
			if errors.Is(err, accounts.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			m, err := composer.Compose("weekly_summary", u.Email, mail.Data{Name: u.Name, Link: creditsURL, Lines: []string{
				fmt.Sprintf("Paid runs: %d", w.Runs),
				fmt.Sprintf("Credits used: %d", w.Consumed),
				fmt.Sprintf("Balance now: %d credits", w.Balance),
			}})
			if err != nil {
				return err
			}
			if err := outbox.Enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	queue.Handle(jobExpire, func(ctx context.Context, _ jobs.Job) error {
		_, err := ledger.ExpireDue(ctx)
		return err
	})
	queue.Handle(jobRecoverRuns, func(ctx context.Context, _ jobs.Job) error {
		_, err := registry.RecoverStale(ctx, staleRunAge)
		return err
	})
	queue.Handle(jobPrune, func(ctx context.Context, _ jobs.Job) error {
		_, err := queue.Prune(ctx, 30*24*time.Hour)
		return err
	})
	return web.Credits{Ledger: ledger, Services: registry, Keys: apikeys.New(db, clock.System{})}, queue, nil
}

// Job kinds of the credit system.
const (
	jobLowBalance    = "credits.low_balance"
	jobWeeklySummary = "credits.weekly_summary"
	jobExpire        = "credits.expire"
	jobRecoverRuns   = "services.recover"
	jobPrune         = "jobs.prune"
)

// staleRunAge is how long a run may stay "running" before it counts as
// interrupted and is refunded: far longer than any service should take.
const staleRunAge = time.Hour

type lowBalanceJob struct {
	UserID    string `json:"user_id"`
	Balance   int64  `json:"balance"`
	Threshold int64  `json:"threshold"`
}

// scheduleCreditJobs queues the recurring jobs due at now. Each has a key
// naming its period, so any number of processes calling this at any time
// queue each one once.
func scheduleCreditJobs(ctx context.Context, db *database.DB, now time.Time) error {
	now = now.UTC()
	hour := now.Format("2006-01-02T15")
	for _, kind := range []string{jobExpire, jobRecoverRuns} {
		if _, err := jobs.Enqueue(ctx, db, kind, kind+":"+hour, "", now); err != nil {
			return err
		}
	}
	day := now.Format("2006-01-02")
	if _, err := jobs.Enqueue(ctx, db, jobPrune, jobPrune+":"+day, "", now); err != nil {
		return err
	}
	// The summary of the week that ended this Monday 00:00 UTC, sent at 08:00.
	monday := now.Truncate(24*time.Hour).AddDate(0, 0, -((int(now.Weekday()) + 6) % 7))
	year, week := monday.ISOWeek()
	_, err := jobs.Enqueue(ctx, db, jobWeeklySummary, fmt.Sprintf("%s:%d-W%02d", jobWeeklySummary, year, week),
		monday.Format(time.RFC3339), monday.Add(8*time.Hour))
	return err
}

// runCreditJobs schedules and runs the credit jobs until ctx ends.
func runCreditJobs(ctx context.Context, logger *slog.Logger, db *database.DB, queue *jobs.Queue) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		queue.Run(ctx, 5*time.Second)
	}()
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		if err := scheduleCreditJobs(ctx, db, time.Now()); err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "schedule credit jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			<-done
			return
		case <-tick.C:
		}
	}
}

// cliActor is the actor the audit log names for changes made from the
// command line, where no signed-in administrator exists.
const cliActor = "cli"

// creditsCommand runs "credits grant|adjust|show|check".
func creditsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"credits needs a subcommand: grant, adjust, show or check"}
	}
	fs := flag.NewFlagSet("credits "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the account's email address")
	amount := fs.String("amount", "", "a number of credits (adjust: +N adds, -N deducts)")
	reason := fs.String("reason", "", "why (required for adjust)")
	expires := fs.String("expires", "", "grant: when the credits expire, a duration (720h) or a date (2030-12-31)")
	limit := fs.Int("limit", 20, "show: how many journal entries to list")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"credits " + args[0] + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("credits %s: unexpected argument %q", args[0], fs.Arg(0))}
	}
	sub := args[0]
	if sub != "check" && *email == "" {
		return usageError{"credits " + sub + " needs --email ADDRESS"}
	}
	n, err := parseAmount(sub, *amount)
	if err != nil {
		return err
	}
	var expiresAt time.Time
	if *expires != "" {
		if expiresAt, err = parseExpiry(*expires, time.Now()); err != nil {
			return usageError{"credits grant --expires: " + err.Error()}
		}
	}

	cfg, db, logger, err := openForCommand(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	ledger := credits.New(db)
	if sub == "check" {
		return checkLedger(ctx, ledger, stdout)
	}
	acct, _, err := accountParts(cfg, db, logger)
	if err != nil {
		return err
	}
	u, err := acct.Users.ByEmail(ctx, *email)
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no account has the address %s: check the spelling, or create it with createadmin", *email)
	}
	if err != nil {
		return err
	}

	switch sub {
	case "grant":
		res, err := ledger.Add(ctx, credits.Credit{UserID: u.ID, Kind: credits.KindGrant, Amount: n, Source: cliActor,
			ExpiresAt: expiresAt, ActorID: cliActor, Reason: *reason})
		if err != nil {
			return fmt.Errorf("credits grant: %w", err)
		}
		fmt.Fprintf(stdout, "Granted %d credits to %s; the balance is now %d.\n", n, u.Email, res.Entry.BalanceAfter)
	case "adjust":
		res, err := ledger.Adjust(ctx, credits.Adjustment{UserID: u.ID, ActorID: cliActor, Amount: n, Reason: *reason})
		if err != nil {
			return fmt.Errorf("credits adjust: %w", err)
		}
		fmt.Fprintf(stdout, "Adjusted %s by %+d credits; the balance is now %d.\n", u.Email, n, res.Entry.BalanceAfter)
	case "show":
		return showCredits(ctx, ledger, u, *limit, stdout)
	}
	return nil
}

func parseAmount(sub, raw string) (int64, error) {
	switch sub {
	case "show", "check":
		if raw != "" {
			return 0, usageError{"credits " + sub + " takes no --amount"}
		}
		return 0, nil
	case "grant", "adjust":
	default:
		return 0, usageError{fmt.Sprintf("unknown credits subcommand %q: use grant, adjust, show or check", sub)}
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(raw, "+"), 10, 64)
	if err != nil || n == 0 || (sub == "grant" && n < 0) {
		if sub == "grant" {
			return 0, usageError{"credits grant needs --amount N, a whole number above 0"}
		}
		return 0, usageError{"credits adjust needs --amount +N or -N, a whole number other than 0"}
	}
	return n, nil
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
	fmt.Fprintf(stdout, "%s: %d credits (%d journal entries)\n", u.Email, balance, page.Total)
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

// checkLedger verifies every account's books and fails when any is off.
func checkLedger(ctx context.Context, ledger *credits.Ledger, stdout io.Writer) error {
	problems, err := ledger.Verify(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the credit ledger has %d problems (listed above): restore from a backup or correct them with adjustments", len(problems))
	}
	fmt.Fprintln(stdout, "The credit ledger is consistent: every balance equals its journal and its lots.")
	return nil
}

// apikeyCommand runs "apikey create --email ADDRESS --name NAME".
func apikeyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"apikey needs the subcommand create: apikey create --email ADDRESS --name NAME"}
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the account the key acts for (required)")
	name := fs.String("name", "", "what the key is for, e.g. \"build server\" (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"apikey create: " + err.Error()}
	}
	if *email == "" || *name == "" || fs.NArg() > 0 {
		return usageError{"apikey create needs --email ADDRESS and --name NAME"}
	}
	cfg, db, logger, err := openForCommand(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	acct, _, err := accountParts(cfg, db, logger)
	if err != nil {
		return err
	}
	u, err := acct.Users.ByEmail(ctx, *email)
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no account has the address %s: check the spelling, or create it with createadmin", *email)
	}
	if err != nil {
		return err
	}
	key, token, err := apikeys.New(db, clock.System{}).Create(ctx, u.ID, *name)
	if err != nil {
		return fmt.Errorf("apikey create: %w", err)
	}
	// The token alone goes to stdout, so scripts can capture it; the
	// explanation goes to stderr.
	fmt.Fprintf(stderr, "Created API key %q (%s) for %s. It is shown only now: store it safely.\n", key.Name, key.Prefix, u.Email)
	fmt.Fprintln(stdout, token)
	return nil
}
