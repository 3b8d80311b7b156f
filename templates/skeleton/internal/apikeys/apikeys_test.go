package apikeys_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/apikeys"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestKeys(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, d)
			s := apikeys.New(db, clock.System{})
			alice, bob := dbtest.NewUser(t, db), dbtest.NewUser(t, db)

			key, token, err := s.Create(ctx, alice, " build server ", nil)
			require.NoError(t, err)
			require.Equal(t, "build server", key.Name, "key = %+v, token = %q", key, token)
			require.True(t, strings.HasPrefix(token, key.Prefix+"_"), "key = %+v, token = %q", key, token)
			require.Len(t, token, len(key.Prefix)+1+26, "key = %+v, token = %q", key, token)
			var stored string
			require.NoError(t, db.QueryRowContext(ctx, "SELECT secret_hash FROM api_keys WHERE id = ?", key.ID).Scan(&stored))
			require.NotContains(t, stored, token, "the secret is stored in the clear")
			require.NotContains(t, stored, token[len(key.Prefix)+1:], "the secret is stored in the clear")

			got, err := s.Authenticate(ctx, token)
			require.NoError(t, err, "Authenticate = %+v, %v", got, err)
			require.Equal(t, key.ID, got.ID, "Authenticate = %+v, %v", got, err)
			require.Equal(t, alice, got.UserID, "Authenticate = %+v, %v", got, err)
			require.False(t, got.LastUsedAt.IsZero(), "Authenticate = %+v, %v", got, err)
			for _, wrong := range []string{"", "sk_", token + "x", token[:len(token)-1], strings.ToUpper(token), "Bearer " + token} {
				_, err := s.Authenticate(ctx, wrong)
				assert.ErrorIs(t, err, apikeys.ErrInvalid, "Authenticate(%q) = %v, want ErrInvalid", wrong, err)
			}

			err = s.Revoke(ctx, bob, key.ID)
			require.ErrorIs(t, err, apikeys.ErrNotFound, "bob revoking alice's key = %v, want ErrNotFound", err)
			keys, _ := s.List(ctx, bob)
			require.Empty(t, keys, "bob lists %d keys, want none of alice's", len(keys))
			require.NoError(t, s.Revoke(ctx, alice, key.ID))
			_, err = s.Authenticate(ctx, token)
			require.ErrorIs(t, err, apikeys.ErrInvalid, "revoked key = %v, want ErrInvalid", err)
			err = s.Revoke(ctx, alice, key.ID)
			require.ErrorIs(t, err, apikeys.ErrNotFound, "revoking twice = %v, want ErrNotFound", err)
			keys, _ = s.List(ctx, alice)
			require.Len(t, keys, 1, "alice's keys = %+v, want one revoked", keys)
			require.False(t, keys[0].Active(), "alice's keys = %+v, want one revoked", keys)
			for _, bad := range []string{"", "  ", "two\nlines", strings.Repeat("n", apikeys.MaxNameLength+1)} {
				_, _, err := s.Create(ctx, alice, bad, nil)
				assert.Error(t, err, "Create(%q) accepted", bad)
			}
		})
	}
}

func TestActiveKeyLimit(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	s := apikeys.New(db, clock.System{})
	u := dbtest.NewUser(t, db)
	var first apikeys.Key
	for i := range apikeys.MaxActive {
		k, _, err := s.Create(ctx, u, "k", nil)
		require.NoError(t, err)
		if i == 0 {
			first = k
		}
	}
	_, _, err := s.Create(ctx, u, "one more", nil)
	require.ErrorIs(t, err, apikeys.ErrTooMany, "key %d = %v, want ErrTooMany", apikeys.MaxActive+1, err)
	require.NoError(t, s.Revoke(ctx, u, first.ID))
	_, _, err = s.Create(ctx, u, "after revoking", nil)
	require.NoError(t, err, "create after revoking one = %v", err)
}

// TestConcurrentLookups: lookups made at once, which share queries, each
// get their own key's answer, and the use of each key is noted at most
// once per minute. Row 34: the shared query also refuses the key of a
// deactivated account.
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
				u := dbtest.NewUser(t, db)
				k, token, err := s.Create(ctx, u, "k", nil)
				require.NoError(t, err)
				clients = append(clients, client{u, token, k})
			}
			revoked, deactivated := clients[5], clients[4]
			require.NoError(t, s.Revoke(ctx, revoked.user, revoked.key.ID))
			_, err := db.ExecContext(ctx, "UPDATE users SET active = ? WHERE id = ?", false, deactivated.user)
			require.NoError(t, err)
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
						case c.token == unknown || c.user == revoked.user || c.user == deactivated.user:
							assert.ErrorIs(t, err, apikeys.ErrInvalid, "lookup %d of a revoked, deactivated or unknown key = %+v, %v; want ErrInvalid", i, got, err)
						case assert.NoError(t, err, "lookup %d", i):
							assert.Equal(t, c.key.ID, got.ID, "lookup %d = %+v; want %s's key", i, got, c.user)
							assert.Equal(t, c.user, got.UserID, "lookup %d = %+v; want %s's key", i, got, c.user)
						}
					})
				}
				wg.Wait()
			}
			lastUsed := func(id string) time.Time {
				t.Helper()
				var used sql.NullTime
				require.NoError(t, db.QueryRowContext(ctx, "SELECT last_used_at FROM api_keys WHERE id = ?", id).Scan(&used))
				return used.Time.UTC()
			}

			lookAll()
			first := clk.Now()
			clk.Advance(30 * time.Second)
			lookAll()
			for _, c := range clients[:4] {
				got := lastUsed(c.key.ID)
				assert.True(t, got.Equal(first), "%s's key last used at %v, want %v: noted once a minute", c.user, got, first)
			}
			clk.Advance(time.Minute)
			lookAll()
			for _, c := range clients[:4] {
				got := lastUsed(c.key.ID)
				assert.True(t, got.Equal(clk.Now()), "%s's key last used at %v, want %v", c.user, got, clk.Now())
			}
			for _, c := range []client{revoked, deactivated} {
				got := lastUsed(c.key.ID)
				assert.True(t, got.IsZero(), "the use of a refused key was noted: %v", got)
			}
		})
	}
}
