package credits

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// Job kinds of the ledger.
const (
	jobLowBalance    = "credits.low_balance"
	jobWeeklySummary = "credits.weekly_summary"
	jobExpire        = "credits.expire"
)

// Notices is what the ledger's emails need.
type Notices struct {
	Composer *mail.Composer
	Outbox   *mail.Outbox
	// Recipient returns the address and display name of a user; ok is
	// false when the account is gone (nobody to tell).
	Recipient func(ctx context.Context, userID string) (to, name string, ok bool, err error)
	// Link is the address of the credits page the emails point to.
	Link string
}

type lowBalanceJob struct {
	UserID    string `json:"user_id"`
	Balance   int64  `json:"balance"`
	Threshold int64  `json:"threshold"`
}

// RegisterJobs puts the ledger's background work on q: the low-balance
// notice, queued in the debit's own transaction so it exists exactly when
// the debit does; the weekly summary of the week that ended, Mondays at
// 08:00 UTC; and the hourly sweep of expired credits. Call it before q runs.
func (l *Ledger) RegisterJobs(q *jobs.Queue, n Notices) {
	l.OnLowBalance(func(ctx context.Context, tx *database.Tx, userID string, balance, threshold int64) error {
		payload, err := json.Marshal(lowBalanceJob{UserID: userID, Balance: balance, Threshold: threshold})
		if err != nil {
			return err
		}
		_, err = q.Enqueue(ctx, tx, jobLowBalance, "", string(payload), l.clock.Now())
		return err
	})
	q.HandleTx(jobLowBalance, func(ctx context.Context, tx *database.Tx, j jobs.Job) error {
		var p lowBalanceJob
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return fmt.Errorf("read the low-balance job: %w", err)
		}
		return n.send(ctx, tx, "low_balance", p.UserID,
			fmt.Sprintf("Balance: %d credits", p.Balance),
			fmt.Sprintf("Your notice level: %d credits", p.Threshold))
	})
	week := 7 * 24 * time.Hour
	q.EveryTx(jobs.Periodic{Kind: jobWeeklySummary, Every: week, After: 8 * time.Hour},
		func(ctx context.Context, tx *database.Tx, monday time.Time) error {
			weeks, err := l.WeeklySummaries(ctx, monday.Add(-week), monday)
			if err != nil {
				return err
			}
			for _, w := range weeks {
				err := n.send(ctx, tx, "weekly_summary", w.UserID,
					fmt.Sprintf("Paid runs: %d", w.Runs),
					fmt.Sprintf("Credits used: %d", w.Consumed),
					fmt.Sprintf("Balance now: %d credits", w.Balance))
				if err != nil {
					return err
				}
			}
			return nil
		})
	q.Every(jobs.Periodic{Kind: jobExpire, Every: time.Hour}, func(ctx context.Context, _ time.Time) error {
		_, err := l.ExpireDue(ctx)
		return err
	})
}

// send queues the email of template to the user, in tx.
func (n Notices) send(ctx context.Context, tx *database.Tx, template, userID string, lines ...string) error {
	to, name, ok, err := n.Recipient(ctx, userID)
	if err != nil || !ok {
		return err
	}
	m, err := n.Composer.Compose(template, to, mail.Data{Name: name, Link: n.Link, Lines: lines})
	if err != nil {
		return err
	}
	return n.Outbox.Enqueue(ctx, tx, m)
}
