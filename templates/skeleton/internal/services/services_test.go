package services_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/services"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newUser(t *testing.T, db *database.DB) string {
	t.Helper()
	id := rand.Text()
	now := time.Now().UTC()
	_, err := db.ExecContext(context.Background(),
		`INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, password_changed_at, created_at)
		 VALUES (?, ?, ?, 'Test', 'x', 'user', TRUE, ?, ?)`,
		id, id+"@example.com", strings.ToLower(id)+"@example.com", now, now)
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}

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
	if err := services.RegisterAll(r); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, db)
	if credit > 0 {
		if _, err := l.Add(context.Background(), credits.Credit{UserID: u, Kind: credits.KindPurchase, Amount: credit}); err != nil {
			t.Fatal(err)
		}
	}
	return fixture{db, clk, l, r, u}
}

func (f fixture) verify(t *testing.T) {
	t.Helper()
	problems, err := f.ledger.Verify(context.Background())
	if err != nil || len(problems) > 0 {
		t.Fatalf("ledger: %v %v", problems, err)
	}
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
		if err := r.Register(s); err == nil {
			t.Errorf("Register(%q, cost %d) accepted", s.Name, s.Cost)
		}
	}
	if err := r.Register(services.Service{Name: "twice", Work: work}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(services.Service{Name: "twice", Work: work}); err == nil {
		t.Error("a second service with the same name was accepted")
	}
}

func TestPaidRunChargesOnce(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 5)
			ctx := context.Background()
			params := map[string]string{"text": "one two\nthree"}
			run, err := f.registry.Run(ctx, f.user, "word-count", "k1", params)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != services.StatusSucceeded || run.Balance != 4 || run.Output["words"] != 3 || run.JournalID == "" {
				t.Fatalf("run = %+v", run)
			}
			again, err := f.registry.Run(ctx, f.user, "word-count", "k1", params)
			if err != nil || !again.Replayed || again.ID != run.ID || again.Balance != 4 {
				t.Fatalf("replay = %+v, %v; want the first run, replayed, nothing charged", again, err)
			}
			if again.Output["words"] != float64(3) {
				t.Fatalf("replayed output = %v, want the stored result", again.Output)
			}
			if _, err := f.registry.Run(ctx, f.user, "word-count", "k1", map[string]string{"text": "else"}); !errors.Is(err, services.ErrKeyReused) {
				t.Fatalf("same key, other input = %v, want ErrKeyReused", err)
			}
			if _, err := f.registry.Run(ctx, f.user, "slugify", "k1", params); !errors.Is(err, services.ErrKeyReused) {
				t.Fatalf("same key, other service = %v, want ErrKeyReused", err)
			}
			// A free run's key, which the journal has never seen, is found
			// by the run's own record: refused, and nothing charged.
			if _, err := f.registry.Run(ctx, f.user, "slugify", "k2", params); err != nil {
				t.Fatal(err)
			}
			if _, err := f.registry.Run(ctx, f.user, "word-count", "k2", params); !errors.Is(err, services.ErrKeyReused) {
				t.Fatalf("a free run's key for a paid run = %v, want ErrKeyReused", err)
			}
			if balance, err := f.ledger.Balance(ctx, f.user); err != nil || balance != 4 {
				t.Fatalf("balance = %d, %v; want 4", balance, err)
			}
			f.verify(t)
		})
	}
}

func TestFreeRunNeedsNoCredits(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 0)
			run, err := f.registry.Run(context.Background(), f.user, "slugify", "", map[string]string{"text": "Hello, World!"})
			if err != nil || run.Output["slug"] != "hello-world" || run.JournalID != "" {
				t.Fatalf("run = %+v, %v", run, err)
			}
		})
	}
}

func TestInsufficientCreditsRunNothing(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d, 0)
			_, err := f.registry.Run(context.Background(), f.user, "word-count", "", map[string]string{"text": "x"})
			var insufficient *credits.InsufficientError
			if !errors.As(err, &insufficient) || insufficient.Required != 1 || insufficient.Balance != 0 {
				t.Fatalf("err = %v, want InsufficientError{0, 1}", err)
			}
			if runs, _ := f.registry.Recent(context.Background(), f.user, 10); len(runs) != 0 {
				t.Fatalf("runs = %+v, want none", runs)
			}
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
				if err := f.registry.Register(s); err != nil {
					t.Fatal(err)
				}
				run, err := f.registry.Run(ctx, f.user, s.Name, "", nil)
				if err != nil || run.Status != services.StatusFailed || run.Balance != 10 || run.Error == "" {
					t.Fatalf("%s: run = %+v, %v; want failed with the balance restored", s.Name, run, err)
				}
			}
			page, err := f.ledger.Journal(ctx, credits.Filter{UserID: f.user, Kind: credits.KindRefund})
			if err != nil || page.Total != 2 || calls.Load() != 2 {
				t.Fatalf("refunds = %d (%v), calls = %d; want 2 and 2", page.Total, err, calls.Load())
			}
			f.verify(t)
		})
	}
}

func TestRefusedInputAndSwitchedOff(t *testing.T) {
	f := setup(t, database.SQLite, 10)
	ctx := context.Background()
	var input *services.InputError
	if _, err := f.registry.Run(ctx, f.user, "word-count", "", map[string]string{"text": "  "}); !errors.As(err, &input) {
		t.Fatalf("empty text = %v, want InputError", err)
	}
	if b, _ := f.ledger.Balance(ctx, f.user); b != 10 {
		t.Fatalf("balance = %d after refused input, want 10 (nothing charged)", b)
	}
	off := services.Service{Name: "off", Cost: 1, Work: func(context.Context, services.Input) (services.Output, error) { return nil, nil }}
	if err := f.registry.Register(off); err != nil {
		t.Fatal(err)
	}
	if _, err := f.registry.Run(ctx, f.user, "off", "", nil); !errors.Is(err, services.ErrDisabled) {
		t.Fatalf("switched-off service = %v, want ErrDisabled", err)
	}
	if _, err := f.registry.Run(ctx, f.user, "nope", "", nil); !errors.Is(err, services.ErrUnknown) {
		t.Fatalf("unknown service = %v, want ErrUnknown", err)
	}
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
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if _, err := f.registry.Run(context.Background(), f.user, "counted", "same", nil); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if b, _ := f.ledger.Balance(context.Background(), f.user); calls.Load() != 1 || b != 8 {
				t.Fatalf("work ran %d times, balance %d; want 1 and 8", calls.Load(), b)
			}
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
			if err != nil {
				t.Fatal(err)
			}
			// A run whose work outlives the recovery age is given up on:
			// refunded and marked failed while its work still hangs.
			done := make(chan error, 1)
			go func() { _, err := f.registry.Run(ctx, f.user, "hangs", "", nil); done <- err }()
			<-started
			if b, _ := f.ledger.Balance(context.Background(), f.user); b != 6 {
				t.Fatalf("balance while running = %d, want 6", b)
			}
			f.clock.Advance(time.Hour + time.Second)
			n, err := f.registry.RecoverStale(context.Background(), time.Hour)
			if err != nil || n != 1 {
				t.Fatalf("RecoverStale = %d, %v; want 1", n, err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("the given-up run, ending later = %v, want no error and no second refund", err)
			}
			if runs, _ := f.registry.Recent(context.Background(), f.user, 1); runs[0].Error != "the run was interrupted" {
				t.Fatalf("run = %+v, want the recovery's verdict kept", runs[0])
			}
			if b, _ := f.ledger.Balance(context.Background(), f.user); b != 10 {
				t.Fatalf("balance after recovery = %d, want 10", b)
			}
			f.verify(t)
		})
	}
}
