package accounts

import (
	"context"
	"errors"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
)

// The limits of django-allauth's strict settings. Login and
// reauthentication count failures only; the others count every request.
var (
	LoginFailuresPerIP      = ratelimit.Rule{Name: "login-ip", Limit: 10, Window: time.Minute}
	LoginFailuresPerAccount = ratelimit.Rule{Name: "login-account", Limit: 5, Window: 5 * time.Minute}
	SignupPerIP             = ratelimit.Rule{Name: "signup-ip", Limit: 20, Window: time.Minute}
	// Beyond allauth: a person signs up once, maybe again after a
	// refused password; more sign-ups for one address are someone
	// making the application mail it.
	SignupPerAddress      = ratelimit.Rule{Name: "signup-address", Limit: 3, Window: 10 * time.Minute}
	ResetPerIP            = ratelimit.Rule{Name: "reset-ip", Limit: 20, Window: time.Minute}
	ResetPerAddress       = ratelimit.Rule{Name: "reset-address", Limit: 5, Window: time.Minute}
	ResendPerAddress      = ratelimit.Rule{Name: "resend-address", Limit: 1, Window: 3 * time.Minute}
	EmailChangePerUser    = ratelimit.Rule{Name: "email-change-user", Limit: 3, Window: 10 * time.Minute}
	ReauthFailuresPerUser = ratelimit.Rule{Name: "reauth-user", Limit: 5, Window: 5 * time.Minute}
)

// LimitedError refuses a request because a rate limit is reached: the same
// request may succeed after RetryAfter.
type LimitedError = ratelimit.ExceededError

// take counts one request against each limit, and refuses with a
// LimitedError, counting none, when one of them is used up.
func (s *Users) take(ctx context.Context, limits ...ratelimit.Limit) error {
	_, err := s.limiter.Take(ctx, limits...)
	return err
}

// attempt runs check, a password check, under failure limits. A slot of
// each limit is taken before check runs, so that concurrent guesses cannot
// all pass the limit before any of them is counted, and a refused guess
// costs no hash. A wrong password (ErrInvalidCredentials) keeps its slots;
// any other outcome gives them back, as it was no failure. A success gives
// them back in one transaction with record, the writes the success makes
// (nil for none), so that a sign-in costs two commits, the take and that
// transaction, no more than the sign-in and its session cost on their own.
func (s *Users) attempt(ctx context.Context, limits []ratelimit.Limit, check func() error, record func(*database.Tx) error) error {
	slots, err := s.limiter.Take(ctx, limits...)
	if err != nil {
		return err
	}
	err = check()
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return err
	case err == nil && record != nil:
		return s.db.InTx(ctx, func(tx *database.Tx) error {
			if err := s.limiter.Release(ctx, tx, slots); err != nil {
				return err
			}
			return record(tx)
		})
	}
	if rerr := s.limiter.Release(ctx, s.db, slots); rerr != nil {
		// The attempt stands: a slot kept only counts a failure too many.
		s.logger.ErrorContext(ctx, "give back rate limit slots", "err", rerr)
	}
	return err
}

// RegisterJobs puts the accounts' background work on q: the jobs that
// make and mail the reset and confirmation links, which the requests for
// them queue on q; every ten minutes, the rate-limit counts no rule looks
// at any more are deleted; every hour, the accounts never verified within
// UnverifiedTTL. Call it before serving requests.
func (s *Users) RegisterJobs(q *jobs.Queue) {
	s.registerLinkJobs(q)
	q.Every(jobs.Periodic{Kind: "ratelimit.prune", Every: 10 * time.Minute}, func(ctx context.Context, _ time.Time) error {
		return s.PruneRateLimits(ctx)
	})
	q.Every(jobs.Periodic{Kind: "accounts.expire_unverified", Every: time.Hour}, func(ctx context.Context, _ time.Time) error {
		_, err := s.ExpireUnverified(ctx)
		return err
	})
}

// PruneRateLimits forgets the counts no rule looks at any more, for the
// housekeeping that runs every few minutes.
func (s *Users) PruneRateLimits(ctx context.Context) error { return s.limiter.Prune(ctx) }
