package accounts

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/mail"
	"github.com/quickscale/quickscale/templates/skeleton/internal/ratelimit"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newUsers(t testing.TB, dialect database.Dialect, params Params) (*Users, *database.DB) {
	t.Helper()
	db := dbtest.Open(t, dialect)
	composer, err := mail.NewComposer("Acme", "https://acme.example")
	require.NoError(t, err)
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	return New(Options{DB: db, Hasher: NewHasher(params), Outbox: mail.NewOutbox(db, clk), Composer: composer,
		Limiter: ratelimit.New(db, clk), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL: "https://acme.example", Clock: clk}), db
}

// Row 8: hashes are argon2id at OWASP's parameters or above, and a hash
// made with other parameters is replaced at the next login.
func TestStoredHashUsesCurrentParametersAndRehashes(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			old := Params{Memory: 8192, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
			s, _ := newUsers(t, dialect, old)
			_, err := s.EnsureUser(ctx, "ada@example.com", "Ada", "a long enough passphrase", "test")
			require.NoError(t, err)
			u, _ := s.ByEmail(ctx, "ada@example.com")
			p, err := ParseHash(u.PasswordHash)
			require.NoError(t, err, "hash %q parses as %+v, %v", u.PasswordHash, p, err)
			require.Equal(t, uint32(8192), p.Memory, "hash %q parses as %+v, %v", u.PasswordHash, p, err)

			s.SetHasher(NewHasher(DefaultParams))
			_, err = s.Login(ctx, "ada@example.com", "wrong passphrase here", "192.0.2.1", nil)
			require.Error(t, err, "a wrong password authenticated")
			after, _ := s.ByEmail(ctx, "ada@example.com")
			require.Equal(t, u.PasswordHash, after.PasswordHash, "a failed login rehashed the password")
			_, err = s.Login(ctx, "ada@example.com", "a long enough passphrase", "192.0.2.1", nil)
			require.NoError(t, err)
			after, _ = s.ByEmail(ctx, "ada@example.com")
			p, err = ParseHash(after.PasswordHash)
			require.NoError(t, err, "rehashed to %q (%v)", after.PasswordHash, err)
			require.True(t, strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$"), "rehashed to %q (%v)", after.PasswordHash, err)
			require.GreaterOrEqual(t, p.Memory, uint32(19456), "parameters %+v are below OWASP's argon2id minimum", p)
			require.GreaterOrEqual(t, p.Time, uint32(2), "parameters %+v are below OWASP's argon2id minimum", p)
			require.Equal(t, uint8(1), p.Threads, "parameters %+v are below OWASP's argon2id minimum", p)
			require.GreaterOrEqual(t, p.SaltLen, uint32(16), "parameters %+v are below OWASP's argon2id minimum", p)
			require.GreaterOrEqual(t, p.KeyLen, uint32(32), "parameters %+v are below OWASP's argon2id minimum", p)
			_, err = s.Login(ctx, "ada@example.com", "a long enough passphrase", "192.0.2.1", nil)
			require.NoError(t, err, "login after the rehash: %v", err)
		})
	}
}

func TestHasherRejectsMalformedHashes(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	for _, bad := range []string{"plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5"} {
		ok, _, err := h.Verify(context.Background(), "x", bad)
		assert.False(t, ok, "Verify against %q = %v, %v; want an error", bad, ok, err)
		assert.Error(t, err, "Verify against %q = %v, %v; want an error", bad, ok, err)
	}
	// An empty stored hash checks against the dummy and never matches.
	ok, _, err := h.Verify(context.Background(), "", "")
	require.False(t, ok, "dummy check = %v, %v", ok, err)
	require.NoError(t, err, "dummy check = %v, %v", ok, err)
}

func TestEmailIsCaseInsensitivelyUnique(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			s, db := newUsers(t, dialect, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
			require.NoError(t, s.SignUp(ctx, "Ada@Example.COM", "Ada", "a long enough passphrase", "192.0.2.1"))
			require.NoError(t, s.SignUp(ctx, " ada@example.com ", "Impostor", "another long passphrase", "192.0.2.2"))
			var n int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
			require.Equal(t, 1, n, "%d accounts for one address in two cases", n)
			_, err := db.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, password_changed_at, created_at)
				VALUES ('x', 'ADA@example.com', 'ada@example.com', 'x', 'x', ?, ?)`, time.Now(), time.Now())
			require.Error(t, err, "the database accepted a second row for one normalised address")
		})
	}
}

// BenchmarkHash measures one argon2id hash at the default parameters.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams)
	for b.Loop() {
		_, err := h.Hash(context.Background(), "correct horse battery staple")
		require.NoError(b, err)
	}
}

// Concurrent sign-ups for one address make one account, and every caller
// gets the same answer.
func TestConcurrentSignUpsMakeOneAccount(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			s, db := newUsers(t, dialect, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
			errs := make(chan error, SignupPerAddress.Limit)
			for range SignupPerAddress.Limit {
				go func() { errs <- s.SignUp(ctx, "race@example.com", "Racer", "a long enough passphrase", "192.0.2.1") }()
			}
			for range SignupPerAddress.Limit {
				err := <-errs
				assert.NoError(t, err, "sign-up: %v", err)
			}
			var n int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
			require.Equal(t, 1, n, "%d accounts, want 1", n)
		})
	}
}

// A sign-up for a taken address that fails, here because its owner's
// notice cannot be queued, reports the failure: only the unique index
// refusing a concurrent sign-up is answered like any sign-up.
func TestSignUpReportsFailuresForTakenAddresses(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			s, db := newUsers(t, dialect, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
			require.NoError(t, s.SignUp(ctx, "taken@example.com", "Owner", "a long enough passphrase", "192.0.2.1"))
			_, err := db.ExecContext(ctx, "ALTER TABLE outbox RENAME TO outbox_gone")
			require.NoError(t, err)
			err = s.SignUp(ctx, "taken@example.com", "Again", "another long passphrase", "192.0.2.2")
			require.ErrorContains(t, err, "outbox", "a sign-up whose notice was never queued answered as if it was")
		})
	}
}

// Login throttles itself: failures count per account, and past the limit
// even the right password gets a LimitedError saying when to retry.
func TestLoginIsLimitedPerAccount(t *testing.T) {
	ctx := context.Background()
	s, _ := newUsers(t, database.SQLite, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	_, err := s.EnsureUser(ctx, "ada@example.com", "Ada", "a long enough passphrase", "test")
	require.NoError(t, err)
	for i := range LoginFailuresPerAccount.Limit {
		_, err := s.Login(ctx, "ada@example.com", "wrong passphrase here", fmt.Sprintf("192.0.2.%d", i), nil)
		require.ErrorIs(t, err, ErrInvalidCredentials, "failure %d", i+1)
	}
	_, err = s.Login(ctx, "ADA@example.com", "a long enough passphrase", "198.51.100.1", nil)
	var limit *LimitedError
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, LoginFailuresPerAccount.Name, limit.Rule)
	assert.Positive(t, limit.RetryAfter)
	assert.LessOrEqual(t, limit.RetryAfter, LoginFailuresPerAccount.Window)
}

// Prune forgets counts older than ratelimit.MaxWindow, so no rule may look
// further back.
func TestRulesFitThePrunedWindow(t *testing.T) {
	for _, rule := range []ratelimit.Rule{LoginFailuresPerIP, LoginFailuresPerAccount, SignupPerIP, ResetPerIP,
		ResetPerAddress, ResendPerAddress, EmailChangePerUser, ReauthFailuresPerUser} {
		assert.LessOrEqual(t, rule.Window, ratelimit.MaxWindow, rule.Name)
	}
}
