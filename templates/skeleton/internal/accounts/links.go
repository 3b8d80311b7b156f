package accounts

import (
	"context"
	"errors"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// A reset link, or a new confirmation link, is made and mailed by a job,
// not by the request that asks for it: the request only queues the job,
// with the address, which is the same work whether or not the address has
// an account, so its time says nothing (a link costs a token, an email
// template and an outbox row more). The job's payload is personal data,
// blanked once the job has run (jobs.HandleTxErasingPayload).
const (
	jobResetLink  = "accounts.reset_link"
	jobVerifyLink = "accounts.verify_link"
)

// emailLink is a kind of link mailed to an account.
type emailLink struct {
	purpose  string
	ttl      time.Duration
	template string
	path     string
	// expires is ttl as the email says it.
	expires string
	// wanted reports whether the account of a job's address is to get the
	// link.
	wanted func(User) bool
}

var (
	resetLink = emailLink{purpose: purposeReset, ttl: ResetTokenTTL, template: "reset", path: "/password/reset/confirm", expires: "one hour",
		wanted: func(u User) bool { return u.Active }}
	verifyLink = emailLink{purpose: purposeVerify, ttl: VerifyTokenTTL, template: "verify", path: "/verify", expires: "24 hours",
		wanted: func(u User) bool { return u.Active && !u.Verified() }}
)

// errNoQueue is a wiring mistake: links go out through the job queue.
var errNoQueue = errors.New("the accounts have no job queue to send reset and confirmation links through: call Users.RegisterJobs before serving requests")

// queueLink queues the job that mails the link of kind to the account of
// email, if it has one that wants it.
func (s *Users) queueLink(ctx context.Context, kind, email string) error {
	if s.jobs == nil {
		return errNoQueue
	}
	_, err := s.jobs.Enqueue(ctx, s.db, kind, "", email, s.clock.Now())
	return err
}

// sendLink makes a link of kind l for u, voiding the older ones, and
// queues its email through tx.
func (s *Users) sendLink(ctx context.Context, tx *database.Tx, u User, l emailLink) error {
	token, err := s.issueToken(ctx, tx, u.ID, l.purpose, "", l.ttl)
	if err != nil {
		return err
	}
	return s.queue(ctx, tx, l.template, u.Email, mail.Data{Name: addressee(u), Link: s.link(l.path, token), Expires: l.expires})
}

// registerLinkJobs handles the link jobs on q, which queueLink then uses.
func (s *Users) registerLinkJobs(q *jobs.Queue) {
	s.jobs = q
	for kind, l := range map[string]emailLink{jobResetLink: resetLink, jobVerifyLink: verifyLink} {
		q.HandleTxErasingPayload(kind, func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
			u, err := s.userBy(ctx, tx, "email_normalized", NormalizeEmail(j.Payload))
			switch {
			case errors.Is(err, ErrNotFound):
				return nil
			case err != nil:
				return err
			case !l.wanted(u):
				return nil
			}
			s.logger.InfoContext(ctx, "link mailed", "purpose", l.purpose, "user_id", u.ID)
			return s.sendLink(ctx, tx, u, l)
		})
	}
}
