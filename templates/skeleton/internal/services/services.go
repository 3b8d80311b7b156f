// Package services declares the things users spend credits on and runs
// them: a paid run takes its credits from the ledger before the work starts
// and, if the work fails, gives them back with a compensating refund entry.
// Every write of a run goes through the ledger's group commit, so a paid
// run's charge and its outcome each share a commit with other requests.
//
// A service is a value, declared in code:
//
//	registry.Register(services.Service{
//		Name:        "word-count",
//		Description: "Counts the words, lines and characters of a text.",
//		Cost:        1,
//		Enabled:     true,
//		Work:        func(ctx context.Context, in services.Input) (services.Output, error) { ... },
//	})
//
// Each run is a row in service_runs, which this package alone writes.
package services

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/credits"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/groupcommit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

// Input is what a run is asked to work on: named text parameters.
type Input struct {
	UserID string
	Params map[string]string
}

// Output is what a run produced, kept as JSON with the run.
type Output map[string]any

// Service is one thing users can run.
type Service struct {
	Name        string // lowercase letters, digits and dashes: it appears in URLs
	Description string
	Cost        int64 // credits per run; 0 makes the service free
	Enabled     bool
	// Validate, when set, checks the input before anything is charged.
	Validate func(Input) error
	// Work does the job. An error refunds the credits.
	Work func(ctx context.Context, in Input) (Output, error)
}

// Free reports whether a run costs nothing.
func (s Service) Free() bool { return s.Cost == 0 }

// Status is where a run stands.
type Status string

const (
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Run is one recorded run.
type Run struct {
	ID         string
	UserID     string
	Service    string
	Status     Status
	Cost       int64
	JournalID  string
	Input      map[string]string
	Output     Output
	Error      string
	CreatedAt  time.Time
	FinishedAt time.Time
	// Replayed is true when the run was not started by this call but
	// found under the same idempotency key.
	Replayed bool
	// Balance is the user's balance after the charge (or refund).
	Balance int64
}

// Errors callers turn into answers.
var (
	ErrUnknown   = errors.New("no such service")
	ErrDisabled  = errors.New("this service is switched off for now")
	ErrKeyReused = errors.New("this idempotency key was already used for a different request: send a new key for a new request")
)

// InputError says the input was refused before anything was charged.
type InputError struct{ Problem string }

func (e *InputError) Error() string { return e.Problem }

var validName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// MaxParamBytes bounds the stored input of one run.
const MaxParamBytes = 64 << 10

// Registry holds the declared services and runs them.
type Registry struct {
	db     *database.DB
	ledger *credits.Ledger
	logger *slog.Logger
	clock  clock.Clock

	mu       sync.RWMutex
	services map[string]Service
}

// NewRegistry returns an empty registry whose runs are stored in db and
// charged through ledger.
func NewRegistry(db *database.DB, ledger *credits.Ledger, logger *slog.Logger, clk clock.Clock) *Registry {
	return &Registry{db: db, ledger: ledger, logger: logger, clock: clk, services: map[string]Service{}}
}

// Register declares a service. Names are unique.
func (r *Registry) Register(s Service) error {
	if !validName.MatchString(s.Name) || len(s.Name) > 64 {
		return fmt.Errorf("service name %q: use 1 to 64 lowercase letters, digits and single dashes", s.Name)
	}
	if s.Cost < 0 || s.Cost > credits.MaxAmount {
		return fmt.Errorf("service %s: the cost must be from 0 to %d credits", s.Name, credits.MaxAmount)
	}
	if s.Work == nil {
		return fmt.Errorf("service %s has no Work function", s.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.services[s.Name]; dup {
		return fmt.Errorf("service %s is declared twice", s.Name)
	}
	r.services[s.Name] = s
	return nil
}

// Get returns the named service.
func (r *Registry) Get(name string) (Service, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.services[name]
	return s, ok
}

// List returns every service, sorted by name.
func (r *Registry) List() []Service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Service, 0, len(r.services))
	for _, s := range r.services {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Service) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Run runs the named service for a user. A paid service first consumes its
// cost (an *credits.InsufficientError when the balance is too low) and
// refunds it if the work fails or panics. With an idempotency key, a repeat
// returns the first run instead of running again.
func (r *Registry) Run(ctx context.Context, userID, name, key string, params map[string]string) (Run, error) {
	s, ok := r.Get(name)
	if !ok {
		return Run{}, ErrUnknown
	}
	if !s.Enabled {
		return Run{}, ErrDisabled
	}
	if params == nil {
		params = map[string]string{}
	}
	input, err := json.Marshal(params)
	if err != nil {
		return Run{}, fmt.Errorf("encode the input: %w", err)
	}
	if len(input) > MaxParamBytes {
		return Run{}, &InputError{Problem: fmt.Sprintf("the input is larger than %d KiB", MaxParamBytes>>10)}
	}
	if key != "" && s.Free() {
		// A paid run's key is looked up with its account, by the charge.
		prev, err := r.byKey(ctx, userID, key)
		if err == nil {
			return r.replayed(ctx, prev, name, string(input))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Run{}, err
		}
	}
	in := Input{UserID: userID, Params: params}
	if s.Validate != nil {
		if err := s.Validate(in); err != nil {
			return Run{}, &InputError{Problem: err.Error()}
		}
	}

	run := Run{ID: rand.Text(), UserID: userID, Service: name, Status: StatusRunning, Cost: s.Cost, Input: params, CreatedAt: r.clock.Now().UTC()}
	if !s.Free() {
		// The run is recorded in the charge's transaction: there is never a
		// charge without its run, nor a run that was not paid for.
		charge, err := r.ledger.ConsumeWith(ctx, credits.Debit{UserID: userID, Amount: s.Cost, Service: name, IdempotencyKey: key},
			func(ctx context.Context, tx *groupcommit.Tx, e credits.Entry) error {
				run.JournalID = e.ID
				return insertRun(ctx, tx, run, key, string(input))
			})
		if err != nil {
			if errors.Is(err, credits.ErrKeyReused) {
				return Run{}, ErrKeyReused
			}
			return r.keyTaken(ctx, userID, key, name, string(input), err)
		}
		if charge.Replayed {
			// A concurrent call with the same key was charged first: it
			// does the work; this one reports it.
			prev, err := r.byKey(ctx, userID, key)
			if err != nil {
				return Run{}, err
			}
			return r.replayed(ctx, prev, name, string(input))
		}
		run.Balance = charge.Entry.BalanceAfter
	} else {
		if run.Balance, err = r.ledger.Balance(ctx, userID); err != nil {
			return Run{}, err
		}
		err := r.ledger.Write(ctx, userID, func(ctx context.Context, tx *groupcommit.Tx) error {
			return insertRun(ctx, tx, run, key, string(input))
		})
		if err != nil {
			return r.keyTaken(ctx, userID, key, name, string(input), err)
		}
	}

	out, workErr := r.work(ctx, s, in)
	run.FinishedAt = r.clock.Now().UTC()
	// The outcome is written even when the request's context is gone: the
	// work happened and the books must say so.
	finishCtx := context.WithoutCancel(ctx)
	if workErr != nil {
		run.Status, run.Error = StatusFailed, workErr.Error()
		if run.JournalID != "" {
			refund, err := r.ledger.Refund(finishCtx, userID, run.JournalID, "service "+name+" failed")
			switch {
			case errors.Is(err, credits.ErrAlreadyRefunded):
				// RecoverStale gave up on this run and refunded it already.
				if run.Balance, err = r.ledger.Balance(finishCtx, userID); err != nil {
					return Run{}, err
				}
			case err != nil:
				return Run{}, fmt.Errorf("refund the failed run of %s: %w", name, err)
			default:
				run.Balance = refund.Entry.BalanceAfter
			}
		}
	} else {
		run.Status, run.Output = StatusSucceeded, out
	}
	if err := r.finish(finishCtx, run); err != nil {
		return Run{}, err
	}
	return run, nil
}

// work runs the service's function, turning a panic into a failure so the
// charge is refunded and the server keeps serving.
func (r *Registry) work(ctx context.Context, s Service, in Input) (out Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("service panicked", "service", s.Name, "panic", fmt.Sprint(p))
			out, err = nil, errors.New("the service failed unexpectedly")
		}
	}()
	out, err = s.Work(ctx, in)
	if err == nil && out == nil {
		out = Output{}
	}
	return out, err
}

func (r *Registry) replayed(ctx context.Context, prev Run, name, input string) (Run, error) {
	raw, _ := json.Marshal(prev.Input)
	if prev.Service != name || string(raw) != input {
		return Run{}, ErrKeyReused
	}
	prev.Replayed = true
	balance, err := r.ledger.Balance(ctx, prev.UserID)
	if err != nil {
		return Run{}, err
	}
	prev.Balance = balance
	return prev, nil
}

// keyTaken answers a run whose write failed: when its idempotency key
// turns out to be taken (a concurrent or earlier run with the same key, a
// free run's key reused for a paid one), as a replay of that run; else
// with err.
func (r *Registry) keyTaken(ctx context.Context, userID, key, name, input string, err error) (Run, error) {
	var insufficient *credits.InsufficientError
	if key == "" || errors.As(err, &insufficient) {
		return Run{}, err
	}
	if prev, kerr := r.byKey(ctx, userID, key); kerr == nil {
		return r.replayed(ctx, prev, name, input)
	}
	return Run{}, err
}

var recordRun = &groupcommit.Rows{
	What: "record the run",
	Head: "INSERT INTO service_runs (id, user_id, service, status, cost, journal_id, idempotency_key, input, created_at) VALUES ",
	Row:  "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
}

func insertRun(ctx context.Context, tx *groupcommit.Tx, run Run, key, input string) error {
	var k any
	if key != "" {
		k = key
	}
	return tx.Queue(ctx, recordRun, run.ID, run.UserID, run.Service, string(run.Status), run.Cost, run.JournalID, k, input, run.CreatedAt)
}

// recordEnd writes runs' outcomes, for the ones not ended yet (RecoverStale
// may have ended one already), by dialect: PostgreSQL types a VALUES
// list's parameters as text unless told, so the finish time is cast there.
// "Not ended" is finished_at IS NULL, not status = 'running': the planner
// would walk the partial index of running runs, dead entries and all,
// instead of finding each run by its id.
var recordEnd = map[database.Dialect]*groupcommit.Rows{
	database.SQLite:   endRows("?"),
	database.Postgres: endRows("CAST(? AS TIMESTAMPTZ)"),
}

func endRows(finished string) *groupcommit.Rows {
	return &groupcommit.Rows{
		What: "record the end of the run",
		Head: "WITH v (id, status, output, error, finished_at) AS (VALUES ",
		Row:  "(?, ?, ?, ?, " + finished + ")",
		Tail: `) UPDATE service_runs SET status = v.status, output = v.output, error = v.error, finished_at = v.finished_at
		 FROM v WHERE service_runs.id = v.id AND service_runs.finished_at IS NULL`,
	}
}

func (r *Registry) finish(ctx context.Context, run Run) error {
	output, err := json.Marshal(run.Output)
	if err != nil {
		return fmt.Errorf("encode the output of %s: %w", run.Service, err)
	}
	if run.Output == nil {
		output = []byte("{}")
	}
	return r.ledger.Write(ctx, run.UserID, func(ctx context.Context, tx *groupcommit.Tx) error {
		return tx.Queue(ctx, recordEnd[r.db.Dialect()], run.ID, string(run.Status), string(output), run.Error, run.FinishedAt)
	})
}

const selectRun = `SELECT id, user_id, service, status, cost, journal_id, input, output, error, created_at, finished_at FROM service_runs`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var run Run
	var status, input, output string
	var finished sql.NullTime
	if err := row.Scan(&run.ID, &run.UserID, &run.Service, &status, &run.Cost, &run.JournalID, &input, &output, &run.Error, &run.CreatedAt, &finished); err != nil {
		return Run{}, err
	}
	run.Status, run.FinishedAt = Status(status), finished.Time
	if err := json.Unmarshal([]byte(input), &run.Input); err != nil {
		return Run{}, fmt.Errorf("decode the input of run %s: %w", run.ID, err)
	}
	if err := json.Unmarshal([]byte(output), &run.Output); err != nil {
		return Run{}, fmt.Errorf("decode the output of run %s: %w", run.ID, err)
	}
	return run, nil
}

func (r *Registry) byKey(ctx context.Context, userID, key string) (Run, error) {
	run, err := scanRun(r.db.QueryRowContext(ctx, selectRun+" WHERE user_id = ? AND idempotency_key = ?", userID, key))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("look up the idempotency key: %w", err)
	}
	return run, err
}

// RunByID returns one of the user's runs; ErrNotFound also when it is someone else's.
func (r *Registry) RunByID(ctx context.Context, userID, id string) (Run, error) {
	run, err := scanRun(r.db.QueryRowContext(ctx, selectRun+" WHERE user_id = ? AND id = ?", userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("read a run: %w", err)
	}
	return run, nil
}

// ErrNotFound: no such run for this user.
var ErrNotFound = errors.New("no such run")

// Recent returns the user's latest runs, newest first.
func (r *Registry) Recent(ctx context.Context, userID string, limit int) ([]Run, error) {
	rows, err := r.db.QueryContext(ctx, selectRun+" WHERE user_id = ? ORDER BY seq DESC LIMIT ?", userID, limit)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("read runs: %w", err)
		}
		out = append(out, run)
	}
	return out, rows.Err()
}

// staleRunAge is how long a run may stay "running" before it counts as
// interrupted and is refunded: far longer than any service should take.
const staleRunAge = time.Hour

// RegisterJobs puts the registry's background work on q: every hour, the
// runs interrupted by a dying process are ended and refunded.
func (r *Registry) RegisterJobs(q *jobs.Queue) {
	q.Every(jobs.Periodic{Kind: "services.recover", Every: time.Hour}, func(ctx context.Context, _ time.Time) error {
		_, err := r.RecoverStale(ctx, staleRunAge)
		return err
	})
}

// RecoverStale ends the runs still marked running after olderThan: their
// process died mid-work. Each is marked failed and its charge refunded.
// It returns how many it ended.
func (r *Registry) RecoverStale(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := r.clock.Now().UTC().Add(-olderThan)
	rows, err := r.db.QueryContext(ctx, selectRun+" WHERE status = 'running' AND created_at < ? ORDER BY seq", cutoff)
	if err != nil {
		return 0, fmt.Errorf("find stale runs: %w", err)
	}
	var stale []Run
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("find stale runs: %w", err)
		}
		stale = append(stale, run)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find stale runs: %w", err)
	}
	for _, run := range stale {
		if run.JournalID != "" {
			if _, err := r.ledger.Refund(ctx, run.UserID, run.JournalID, "run interrupted"); err != nil && !errors.Is(err, credits.ErrAlreadyRefunded) {
				return 0, fmt.Errorf("refund interrupted run %s: %w", run.ID, err)
			}
		}
		run.Status, run.Error, run.FinishedAt = StatusFailed, "the run was interrupted", r.clock.Now().UTC()
		if err := r.finish(ctx, run); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}
