package services_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type fixture struct {
	db       *database.DB
	clock    *clock.Fake
	ledger   *credits.Ledger
	registry *services.Registry
	user     string
}

func setup(t *testing.T, dialect database.Dialect, credit int64) fixture {
	t.Helper()
	db := dbtest.Open(t, dialect)
	clk := clock.NewFake(time.Now())
	l := credits.New(db, clk)
	r := services.NewRegistry(db, l, slog.New(slog.NewTextHandler(io.Discard, nil)), clk)
	require.NoError(t, services.RegisterAll(r))
	u := dbtest.NewUser(t, db)
	if credit > 0 {
		_, err := l.Add(context.Background(), credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: credit})
		require.NoError(t, err)
	}
	return fixture{db, clk, l, r, u}
}

func (f fixture) verify(t *testing.T) {
	t.Helper()
	problems, err := f.ledger.Verify(context.Background())
	require.NoError(t, err, "verify the ledger")
	require.Empty(t, problems, "ledger")
}

func TestRegisterRefusesBadDeclarations(t *testing.T) {
	r := services.NewRegistry(nil, nil, slog.Default(), clock.System{})
	work := func(context.Context, services.Input) (services.Output, error) { return nil, nil }
	for _, s := range []services.Service{
		{Name: "Upper", Work: work},
		{Name: "a--b", Work: work},
		{Name: "ok", Cost: -1, Work: work},
		{Name: "no-work"},
	} {
		assert.Error(t, r.Register(s), "Register(%q, cost %d) accepted", s.Name, s.Cost)
	}
	require.NoError(t, r.Register(services.Service{Name: "twice", Work: work}))
	assert.Error(t, r.Register(services.Service{Name: "twice", Work: work}), "a second service with the same name was accepted")
}

func TestPaidRunChargesOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 5)
			ctx := context.Background()
			params := map[string]string{"text": "one two\nthree"}
			run, err := f.registry.Run(ctx, f.user, "word-count", "k1", params)
			require.NoError(t, err)
			require.Equal(t, services.StatusSucceeded, run.Status, "run: %+v", run)
			require.EqualValues(t, 4, run.Balance, "balance after the run")
			require.Equal(t, 3, run.Output["words"], "run output")
			require.NotEmpty(t, run.JournalID, "the run's charge")
			again, err := f.registry.Run(ctx, f.user, "word-count", "k1", params)
			require.NoError(t, err, "replay")
			require.True(t, again.Replayed, "replay: %+v", again)
			require.Equal(t, run.ID, again.ID, "the replay is the first run")
			require.EqualValues(t, 4, again.Balance, "the replay charges nothing")
			require.Equal(t, float64(3), again.Output["words"], "replayed output is the stored result")
			_, err = f.registry.Run(ctx, f.user, "word-count", "k1", map[string]string{"text": "else"})
			require.ErrorIs(t, err, services.ErrKeyReused, "same key, other input")
			_, err = f.registry.Run(ctx, f.user, "slugify", "k1", params)
			require.ErrorIs(t, err, services.ErrKeyReused, "same key, other service")
			// A free run's key, which the journal has never seen, is found
			// by the run's own record: refused, and nothing charged.
			_, err = f.registry.Run(ctx, f.user, "slugify", "k2", params)
			require.NoError(t, err)
			_, err = f.registry.Run(ctx, f.user, "word-count", "k2", params)
			require.ErrorIs(t, err, services.ErrKeyReused, "a free run's key for a paid run")
			balance, err := f.ledger.Balance(ctx, f.user)
			require.NoError(t, err)
			require.EqualValues(t, 4, balance)
			f.verify(t)
		})
	}
}

func TestFreeRunNeedsNoCredits(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 0)
			run, err := f.registry.Run(context.Background(), f.user, "slugify", "", map[string]string{"text": "Hello, World!"})
			require.NoError(t, err)
			require.Equal(t, "hello-world", run.Output["slug"], "run output")
			require.Empty(t, run.JournalID, "a free run's charge")
		})
	}
}

func TestInsufficientCreditsRunNothing(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 0)
			_, err := f.registry.Run(context.Background(), f.user, "word-count", "", map[string]string{"text": "x"})
			var insufficient *credits.InsufficientError
			require.ErrorAs(t, err, &insufficient)
			require.Equal(t, credits.InsufficientError{Balance: 0, Required: 1}, *insufficient)
			runs, _ := f.registry.Recent(context.Background(), f.user, 10)
			require.Empty(t, runs)
		})
	}
}

func TestFailedWorkIsRefunded(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 10)
			ctx := context.Background()
			var calls atomic.Int64
			for _, s := range []services.Service{
				{Name: "fails", Cost: 3, Enabled: true, Work: func(context.Context, services.Input) (services.Output, error) {
					calls.Add(1)
					return nil, errors.New("upstream is down")
				}},
				{Name: "panics", Cost: 3, Enabled: true, Work: func(context.Context, services.Input) (services.Output, error) {
					calls.Add(1)
					panic("bug")
				}},
			} {
				require.NoError(t, f.registry.Register(s))
				run, err := f.registry.Run(ctx, f.user, s.Name, "", nil)
				require.NoError(t, err, s.Name)
				require.Equal(t, services.StatusFailed, run.Status, "%s: run %+v", s.Name, run)
				require.EqualValues(t, 10, run.Balance, "%s: the balance is restored", s.Name)
				require.NotEmpty(t, run.Error, "%s: the run's error", s.Name)
			}
			page, err := f.ledger.Journal(ctx, credits.Filter{UserID: f.user, Kind: credits.KindRefund})
			require.NoError(t, err)
			require.Equal(t, 2, page.Total, "refunds")
			require.EqualValues(t, 2, calls.Load(), "calls")
			f.verify(t)
		})
	}
}

func TestRefusedInputAndSwitchedOff(t *testing.T) {
	f := setup(t, database.SQLite, 10)
	ctx := context.Background()
	var input *services.InputError
	_, err := f.registry.Run(ctx, f.user, "word-count", "", map[string]string{"text": "  "})
	require.ErrorAs(t, err, &input, "empty text")
	b, _ := f.ledger.Balance(ctx, f.user)
	require.EqualValues(t, 10, b, "balance after refused input: nothing charged")
	off := services.Service{Name: "off", Cost: 1, Work: func(context.Context, services.Input) (services.Output, error) { return nil, nil }}
	require.NoError(t, f.registry.Register(off))
	_, err = f.registry.Run(ctx, f.user, "off", "", nil)
	require.ErrorIs(t, err, services.ErrDisabled, "switched-off service")
	_, err = f.registry.Run(ctx, f.user, "nope", "", nil)
	require.ErrorIs(t, err, services.ErrUnknown, "unknown service")
}

// TestConcurrentSameKeyRunsOnce sends one request many times at once, as a
// client retrying on a timeout does: one charge, one piece of work.
func TestConcurrentSameKeyRunsOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 10)
			var calls atomic.Int64
			err := f.registry.Register(services.Service{Name: "counted", Cost: 2, Enabled: true,
				Work: func(context.Context, services.Input) (services.Output, error) {
					calls.Add(1)
					return services.Output{"ok": true}, nil
				}})
			require.NoError(t, err)
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					_, err := f.registry.Run(context.Background(), f.user, "counted", "same", nil)
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			b, _ := f.ledger.Balance(context.Background(), f.user)
			require.EqualValues(t, 1, calls.Load(), "work runs")
			require.EqualValues(t, 8, b, "balance")
			f.verify(t)
		})
	}
}

func TestRecoverStaleRefunds(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 10)
			ctx, cancel := context.WithCancel(context.Background())
			started := make(chan struct{})
			err := f.registry.Register(services.Service{Name: "hangs", Cost: 4, Enabled: true,
				Work: func(ctx context.Context, _ services.Input) (services.Output, error) {
					close(started)
					<-ctx.Done()
					return nil, ctx.Err()
				}})
			require.NoError(t, err)
			// A run whose work outlives the recovery age is given up on:
			// refunded and marked failed while its work still hangs.
			done := make(chan error, 1)
			go func() { _, err := f.registry.Run(ctx, f.user, "hangs", "", nil); done <- err }()
			<-started
			b, _ := f.ledger.Balance(context.Background(), f.user)
			require.EqualValues(t, 6, b, "balance while running")
			f.clock.Advance(time.Hour + time.Second)
			n, err := f.registry.RecoverStale(context.Background(), time.Hour)
			require.NoError(t, err)
			require.Equal(t, 1, n, "runs recovered")
			cancel()
			require.NoError(t, <-done, "the given-up run, ending later: no error and no second refund")
			runs, _ := f.registry.Recent(context.Background(), f.user, 1)
			require.Equal(t, "the run was interrupted", runs[0].Error, "the recovery's verdict is kept")
			b, _ = f.ledger.Balance(context.Background(), f.user)
			require.EqualValues(t, 10, b, "balance after recovery")
			f.verify(t)
		})
	}
}
