package accounts

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	return New(Options{DB: db, Hasher: NewHasher(params), Outbox: mail.NewOutbox(db), Composer: composer,
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
			if _, err := s.EnsureUser(ctx, "ada@example.com", "Ada", "a long enough passphrase", "test"); err != nil {
				t.Fatal(err)
			}
			u, _ := s.ByEmail(ctx, "ada@example.com")
			if p, err := ParseHash(u.PasswordHash); err != nil || p.Memory != 8192 {
				t.Fatalf("hash %q parses as %+v, %v", u.PasswordHash, p, err)
			}

			s.SetHasher(NewHasher(DefaultParams))
			if _, err := s.Login(ctx, "ada@example.com", "wrong passphrase here", "192.0.2.1"); err == nil {
				t.Fatal("a wrong password authenticated")
			}
			if after, _ := s.ByEmail(ctx, "ada@example.com"); after.PasswordHash != u.PasswordHash {
				t.Fatal("a failed login rehashed the password")
			}
			if _, err := s.Login(ctx, "ada@example.com", "a long enough passphrase", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			after, _ := s.ByEmail(ctx, "ada@example.com")
			p, err := ParseHash(after.PasswordHash)
			if err != nil || !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
				t.Fatalf("rehashed to %q (%v)", after.PasswordHash, err)
			}
			if p.Memory < 19456 || p.Time < 2 || p.Threads != 1 || p.SaltLen < 16 || p.KeyLen < 32 {
				t.Fatalf("parameters %+v are below OWASP's argon2id minimum", p)
			}
			if _, err := s.Login(ctx, "ada@example.com", "a long enough passphrase", "192.0.2.1"); err != nil {
				t.Fatalf("login after the rehash: %v", err)
			}
		})
	}
}

func TestHasherRejectsMalformedHashes(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	for _, bad := range []string{"plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5"} {
		if ok, _, err := h.Verify(context.Background(), "x", bad); ok || err == nil {
			t.Errorf("Verify against %q = %v, %v; want an error", bad, ok, err)
		}
	}
	// An empty stored hash checks against the dummy and never matches.
	if ok, _, err := h.Verify(context.Background(), "", ""); ok || err != nil {
		t.Fatalf("dummy check = %v, %v", ok, err)
	}
}

func TestEmailIsCaseInsensitivelyUnique(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			s, db := newUsers(t, dialect, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
			if err := s.SignUp(ctx, "Ada@Example.COM", "Ada", "a long enough passphrase", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			if err := s.SignUp(ctx, " ada@example.com ", "Impostor", "another long passphrase", "192.0.2.2"); err != nil {
				t.Fatal(err)
			}
			var n int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
			if n != 1 {
				t.Fatalf("%d accounts for one address in two cases", n)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, email_normalized, name, password_hash, password_changed_at, created_at)
				VALUES ('x', 'ADA@example.com', 'ada@example.com', 'x', 'x', ?, ?)`, time.Now(), time.Now()); err == nil {
				t.Fatal("the database accepted a second row for one normalised address")
			}
		})
	}
}

// BenchmarkHash measures one argon2id hash at the default parameters.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams)
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// Concurrent sign-ups for one address make one account, and every caller
// gets the same answer.
func TestConcurrentSignUpsMakeOneAccount(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			s, db := newUsers(t, dialect, Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
			errs := make(chan error, 8)
			for range 8 {
				go func() { errs <- s.SignUp(ctx, "race@example.com", "Racer", "a long enough passphrase", "192.0.2.1") }()
			}
			for range 8 {
				if err := <-errs; err != nil {
					t.Errorf("sign-up: %v", err)
				}
			}
			var n int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
			if n != 1 {
				t.Fatalf("%d accounts, want 1", n)
			}
		})
	}
}
