package billingtest

import (
	"context"
	"database/sql"
	"errors"

	"github.com/quickscale/quickscale/templates/skeleton/internal/billing"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
)

// BaseURL is the address the tests' emails link to.
const BaseURL = "https://app.example"

// Mail is billing's email through outbox, to the addresses in db's users
// table, with links under BaseURL.
func Mail(db *database.DB, outbox *mail.Outbox) billing.Mail {
	composer, err := mail.NewComposer("Acme Test", BaseURL)
	if err != nil {
		panic(err) // the embedded templates parse, or every test fails
	}
	return billing.Mail{
		Composer: composer,
		Outbox:   outbox,
		Recipient: func(ctx context.Context, userID string) (string, string, bool, error) {
			var to, name string
			err := db.QueryRowContext(ctx, "SELECT email, name FROM users WHERE id = ?", userID).Scan(&to, &name)
			if errors.Is(err, sql.ErrNoRows) {
				return "", "", false, nil
			}
			return to, name, err == nil, err
		},
		ReceiptLink: func(id string) string { return BaseURL + "/credits/purchases/" + id },
		RetryLink:   BaseURL + "/credits/buy",
	}
}
