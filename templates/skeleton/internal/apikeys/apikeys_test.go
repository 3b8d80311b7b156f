package apikeys_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newUser(t *testing.T, db *database.DB) string {
	t.Helper()
	id := rand.Text()
	now := time.Now().UTC()
	_, err := db.ExecContext(context.Background(),
		`INSERT INTO users (id, email, email_normalized, name, password_hash, role, active, password_changed_at, created_at)
		 VALUES (?, ?, ?, 'Test', 'x', 'user', TRUE, ?, ?)`,
		id, id+"@example.com", strings.ToLower(id)+"@example.com", now, now)
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}

func TestKeys(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			s := apikeys.New(db, clock.System{})
			alice, bob := newUser(t, db), newUser(t, db)

			key, token, err := s.Create(ctx, alice, " build server ")
			if err != nil {
				t.Fatal(err)
			}
			if key.Name != "build server" || !strings.HasPrefix(token, key.Prefix+"_") || len(token) != len(key.Prefix)+1+26 {
				t.Fatalf("key = %+v, token = %q", key, token)
			}
			var stored string
			if err := db.QueryRowContext(ctx, "SELECT secret_hash FROM api_keys WHERE id = ?", key.ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stored, token) || strings.Contains(stored, token[len(key.Prefix)+1:]) {
				t.Fatal("the secret is stored in the clear")
			}

			got, err := s.Authenticate(ctx, token)
			if err != nil || got.ID != key.ID || got.UserID != alice || got.LastUsedAt.IsZero() {
				t.Fatalf("Authenticate = %+v, %v", got, err)
			}
			for _, wrong := range []string{"", "sk_", token + "x", token[:len(token)-1], strings.ToUpper(token), "Bearer " + token} {
				if _, err := s.Authenticate(ctx, wrong); !errors.Is(err, apikeys.ErrInvalid) {
					t.Errorf("Authenticate(%q) = %v, want ErrInvalid", wrong, err)
				}
			}

			if err := s.Revoke(ctx, bob, key.ID); !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("bob revoking alice's key = %v, want ErrNotFound", err)
			}
			if keys, _ := s.List(ctx, bob); len(keys) != 0 {
				t.Fatalf("bob lists %d keys, want none of alice's", len(keys))
			}
			if err := s.Revoke(ctx, alice, key.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, token); !errors.Is(err, apikeys.ErrInvalid) {
				t.Fatalf("revoked key = %v, want ErrInvalid", err)
			}
			if err := s.Revoke(ctx, alice, key.ID); !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("revoking twice = %v, want ErrNotFound", err)
			}
			if keys, _ := s.List(ctx, alice); len(keys) != 1 || keys[0].Active() {
				t.Fatalf("alice's keys = %+v, want one revoked", keys)
			}
			for _, bad := range []string{"", "  ", "two\nlines", strings.Repeat("n", apikeys.MaxNameLength+1)} {
				if _, _, err := s.Create(ctx, alice, bad); err == nil {
					t.Errorf("Create(%q) accepted", bad)
				}
			}
		})
	}
}

func TestActiveKeyLimit(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	s := apikeys.New(db, clock.System{})
	u := newUser(t, db)
	var first apikeys.Key
	for i := range apikeys.MaxActive {
		k, _, err := s.Create(ctx, u, "k")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = k
		}
	}
	if _, _, err := s.Create(ctx, u, "one more"); !errors.Is(err, apikeys.ErrTooMany) {
		t.Fatalf("key %d = %v, want ErrTooMany", apikeys.MaxActive+1, err)
	}
	if err := s.Revoke(ctx, u, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, u, "after revoking"); err != nil {
		t.Fatalf("create after revoking one = %v", err)
	}
}

// TestConcurrentLookups: lookups made at once, which share queries, each
// get their own key's answer, and the use of each key is noted at most
// once per minute.
func TestConcurrentLookups(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			clk := clock.NewFake(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			s := apikeys.New(db, clk)
			type client struct {
				user, token string
				key         apikeys.Key
			}
			var clients []client
			for range 6 {
				u := newUser(t, db)
				k, token, err := s.Create(ctx, u, "k")
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, client{u, token, k})
			}
			revoked := clients[5]
			if err := s.Revoke(ctx, revoked.user, revoked.key.ID); err != nil {
				t.Fatal(err)
			}
			unknown := "sk_" + strings.Repeat("A", 26)

			lookAll := func() {
				var wg sync.WaitGroup
				for i := range 300 {
					wg.Go(func() {
						c := clients[i%len(clients)]
						if i%7 == 0 {
							c = client{token: unknown}
						}
						got, err := s.Authenticate(ctx, c.token)
						switch {
						case c.token == unknown || c.user == revoked.user:
							if !errors.Is(err, apikeys.ErrInvalid) {
								t.Errorf("lookup %d of a revoked or unknown key = %+v, %v; want ErrInvalid", i, got, err)
							}
						case err != nil || got.ID != c.key.ID || got.UserID != c.user:
							t.Errorf("lookup %d = %+v, %v; want %s's key", i, got, err, c.user)
						}
					})
				}
				wg.Wait()
			}
			lastUsed := func(id string) time.Time {
				t.Helper()
				var used sql.NullTime
				if err := db.QueryRowContext(ctx, "SELECT last_used_at FROM api_keys WHERE id = ?", id).Scan(&used); err != nil {
					t.Fatal(err)
				}
				return used.Time.UTC()
			}

			lookAll()
			first := clk.Now()
			clk.Advance(30 * time.Second)
			lookAll()
			for _, c := range clients[:5] {
				if got := lastUsed(c.key.ID); !got.Equal(first) {
					t.Errorf("%s's key last used at %v, want %v: noted once a minute", c.user, got, first)
				}
			}
			clk.Advance(time.Minute)
			lookAll()
			for _, c := range clients[:5] {
				if got := lastUsed(c.key.ID); !got.Equal(clk.Now()) {
					t.Errorf("%s's key last used at %v, want %v", c.user, got, clk.Now())
				}
			}
			if got := lastUsed(revoked.key.ID); !got.IsZero() {
				t.Errorf("the revoked key's use was noted: %v", got)
			}
		})
	}
}
