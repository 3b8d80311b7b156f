package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// UnverifiedTTL is how long an account may wait for its address to be
// confirmed before it is deleted and the address can sign up again. A
// week: seven times VerifyTokenTTL, so that someone who missed the first
// link (spam folder, a weekend away) has days to ask for another, while an
// address that someone else typed in is not held for long. A new link does
// not extend it: the clock runs from the sign-up.
const UnverifiedTTL = 7 * 24 * time.Hour

// expireBatch bounds the accounts one transaction deletes, so the sweep
// never holds the write lock for long.
const expireBatch = 100

// expiryActor is the audit log's actor of an expiry: no person.
const expiryActor = "unverified-expiry"

// ExpireUnverified deletes the accounts created more than UnverifiedTTL
// ago whose address was never confirmed, each with its audit entry, and
// returns how many it deleted. Nobody is emailed: the address was never
// proven to belong to whoever signed up.
func (s *Users) ExpireUnverified(ctx context.Context) (int, error) {
	deleted := 0
	for {
		seen, n, err := s.expireSome(ctx)
		deleted += n
		if err != nil || seen < expireBatch {
			if deleted > 0 {
				s.logger.InfoContext(ctx, "unverified accounts expired", "count", deleted)
			}
			return deleted, err
		}
	}
}

// expireSome deletes up to expireBatch expired unverified accounts in one
// transaction; seen is how many it found, deleted how many it removed (an
// account verified meanwhile stays).
func (s *Users) expireSome(ctx context.Context) (seen, deleted int, err error) {
	cutoff := s.clock.Now().UTC().Add(-UnverifiedTTL)
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		seen, deleted = 0, 0
		rows, err := tx.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE email_verified_at IS NULL AND created_at < ? ORDER BY created_at, id LIMIT ?",
			cutoff, expireBatch)
		if err != nil {
			return fmt.Errorf("find expired accounts: %w", err)
		}
		var expired []User
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("find expired accounts: %w", err)
			}
			expired = append(expired, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find expired accounts: %w", err)
		}
		seen = len(expired)
		for _, u := range expired {
			removed, err := s.remove(ctx, tx, u, removal{actorID: expiryActor, action: "account.expired", unverifiedOnly: true})
			if err != nil {
				return err
			}
			if removed {
				deleted++
			}
		}
		return nil
	})
	return seen, deleted, err
}
