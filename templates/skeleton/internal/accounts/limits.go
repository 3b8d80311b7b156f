package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
)

// The limits of django-allauth's strict settings. Login and
// reauthentication count failures only; the others count every request.
var (
	LoginFailuresPerIP      = ratelimit.Rule{Name: "login-ip", Limit: 10, Window: time.Minute}
	LoginFailuresPerAccount = ratelimit.Rule{Name: "login-account", Limit: 5, Window: 5 * time.Minute}
	SignupPerIP             = ratelimit.Rule{Name: "signup-ip", Limit: 20, Window: time.Minute}
	ResetPerIP              = ratelimit.Rule{Name: "reset-ip", Limit: 20, Window: time.Minute}
	ResetPerAddress         = ratelimit.Rule{Name: "reset-address", Limit: 5, Window: time.Minute}
	ResendPerAddress        = ratelimit.Rule{Name: "resend-address", Limit: 1, Window: 3 * time.Minute}
	EmailChangePerUser      = ratelimit.Rule{Name: "email-change-user", Limit: 3, Window: 10 * time.Minute}
	ReauthFailuresPerUser   = ratelimit.Rule{Name: "reauth-user", Limit: 5, Window: 5 * time.Minute}
)

// LimitedError refuses a request because a rate limit is reached: the same
// request may succeed after RetryAfter.
type LimitedError struct {
	Rule       string
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many attempts (%s): try again in %s", e.Rule, e.RetryAfter.Round(time.Second))
}

// limited is one rule applied to one key: an address, an account or a user id.
type limited struct {
	rule ratelimit.Rule
	key  string
}

// take counts one request against each limit, in order, and refuses with a
// LimitedError at the first that is used up.
func (s *Users) take(ctx context.Context, limits ...limited) error {
	for _, l := range limits {
		ok, wait, err := s.limiter.Allow(ctx, l.rule, l.key)
		if err != nil {
			return err
		}
		if !ok {
			return &LimitedError{Rule: l.rule.Name, RetryAfter: wait}
		}
	}
	return nil
}

// checkFailures refuses with a LimitedError while any of the limits has
// used up its failures. It counts nothing: recordFailure does, after a
// failure.
func (s *Users) checkFailures(ctx context.Context, limits ...limited) error {
	for _, l := range limits {
		exceeded, wait, err := s.limiter.Exceeded(ctx, l.rule, l.key)
		if err != nil {
			return err
		}
		if exceeded {
			return &LimitedError{Rule: l.rule.Name, RetryAfter: wait}
		}
	}
	return nil
}

// recordFailure counts one failure against each of the limits.
func (s *Users) recordFailure(ctx context.Context, limits ...limited) error {
	for _, l := range limits {
		if err := s.limiter.Record(ctx, l.rule, l.key); err != nil {
			return err
		}
	}
	return nil
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
