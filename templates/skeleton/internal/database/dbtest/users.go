package dbtest

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// NewUser inserts an active, verified user straight into the users table
// and returns its id: the tests of the ledger, the services and the API
// keys need only the row their foreign keys point at (and whose state the
// API keys check), not an account made through sign-up.
func NewUser(t testing.TB, db *database.DB) string {
	t.Helper()
	id := rand.Text()
	now := time.Now().UTC()
	_, err := db.ExecContext(context.Background(),
		`INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, email_verified_at, password_changed_at, created_at)
		 VALUES (?, ?, ?, 'Test', 'x', 'user', TRUE, ?, ?, ?)`,
		id, id+"@example.com", strings.ToLower(id)+"@example.com", now, now, now)
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}
