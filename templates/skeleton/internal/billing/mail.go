package billing

import (
	"context"
	"fmt"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// Mail is what billing's emails to the buyer need: the confirmation of a
// purchase, with its receipt, and the notice of a payment that failed,
// with a way to try again. Each is queued in the transaction of the
// change it tells of, so it is sent once exactly when that commits.
type Mail struct {
	Composer *mail.Composer
	Outbox   *mail.Outbox
	// Recipient returns the address and display name of a user; ok is
	// false when the account is gone (nobody to tell).
	Recipient func(ctx context.Context, userID string) (to, name string, ok bool, err error)
	// ReceiptLink is the address of a purchase's receipt page.
	ReceiptLink func(purchaseID string) string
	// RetryLink is the address of the page to buy again from.
	RetryLink string
}

// letter is an email composed for a buyer, to be queued in a transaction.
type letter struct {
	message mail.Message
	ok      bool
}

// compose renders the email of template to the purchase's buyer, before
// the transaction that queues it, which should not wait on a lookup.
func (b *Billing) compose(ctx context.Context, template string, p Purchase, link string, lines ...string) (letter, error) {
	to, name, ok, err := b.mail.Recipient(ctx, p.UserID)
	if err != nil || !ok {
		return letter{}, err
	}
	m, err := b.mail.Composer.Compose(template, to, mail.Data{Name: name, Link: link, Lines: lines})
	if err != nil {
		return letter{}, fmt.Errorf("compose the %s email of purchase %s: %w", template, p.ID, err)
	}
	return letter{message: m, ok: true}, nil
}

// queue puts l in the outbox through ex, the transaction of the change.
func (b *Billing) queue(ctx context.Context, ex database.Execer, l letter) error {
	if !l.ok {
		return nil
	}
	return b.mail.Outbox.Enqueue(ctx, ex, l.message)
}

// purchaseLines are the facts of a purchase an email lists.
func purchaseLines(p Purchase) []string {
	return []string{
		fmt.Sprintf("Credits: %d", p.Credits),
		"Amount: " + FormatAmount(p.Amount, p.Currency),
		"Purchase: " + p.ID,
	}
}
