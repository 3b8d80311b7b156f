package sessions

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// user inserts the account a session belongs to.
func user(t *testing.T, db *database.DB, id string) {
	t.Helper()
	_, err := db.ExecContext(context.Background(), `INSERT INTO users (id, email, email_normalized, name, password_hash, password_changed_at, created_at)
		VALUES (?, ?, ?, 'x', 'x', ?, ?)`, id, id+"@example.com", id+"@example.com", time.Now(), time.Now())
	require.NoError(t, err)
}

func TestLifecycle(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, dialect)
			user(t, db, "ada")
			user(t, db, "bob")
			clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
			s := New(db, Timeouts{Idle: time.Hour, Absolute: 24 * time.Hour}, clk)

			token, sess, err := s.Create(ctx, db, Start{UserID: "ada", UserState: "state-1", UserAgent: "Firefox \xff broken utf-8", IP: "192.0.2.1"})
			require.NoError(t, err)
			var stored string
			db.QueryRowContext(ctx, "SELECT token_hash FROM sessions WHERE id = ?", sess.ID).Scan(&stored)
			require.NotEqual(t, token, stored, "stored token %q: want its SHA-256, never the token", stored)
			require.Len(t, stored, 64, "stored token %q: want its SHA-256, never the token", stored)
			got, err := s.Lookup(ctx, token)
			require.NoError(t, err, "Lookup = %+v, %v", got, err)
			require.NotNil(t, got, "Lookup = %+v, %v", got, err)
			require.Equal(t, "ada", got.UserID, "Lookup = %+v, %v", got, err)
			require.Equal(t, "state-1", got.UserState, "Lookup = %+v, %v", got, err)
			got, _ = s.Lookup(ctx, token+"x")
			require.Nil(t, got, "a wrong token found a session")

			renewed, err := s.Renew(ctx, &sess, "state-2", true)
			require.NoError(t, err, "Renew = %q, %v", renewed, err)
			require.NotEqual(t, token, renewed, "Renew = %q, %v", renewed, err)
			got, _ = s.Lookup(ctx, token)
			require.Nil(t, got, "the token before renewal still works")
			got, _ = s.Lookup(ctx, renewed)
			require.Equal(t, "state-2", got.UserState, "Renew did not bind the session to the new state")

			second, other, _ := s.Create(ctx, db, Start{UserID: "ada", UserState: "state-2", UserAgent: "phone", IP: "192.0.2.2"})
			bobToken, bobSess, _ := s.Create(ctx, db, Start{UserID: "bob", UserState: "state-b", UserAgent: "laptop", IP: "192.0.2.3"})
			ended, _ := s.EndForUser(ctx, "ada", bobSess.ID)
			require.False(t, ended, "ada ended bob's session")
			_, _, _ = s.Create(ctx, db, Start{UserID: "ada", UserState: "state-1", UserAgent: "old tablet", IP: "192.0.2.4"})
			list, _ := s.List(ctx, "ada", "state-2")
			require.Len(t, list, 2, "ada has %d sessions listed, want the 2 of her current state", len(list))
			n, err := s.EndOthers(ctx, "ada", sess.ID)
			require.NoError(t, err, "EndOthers = %d, %v", n, err)
			require.Equal(t, int64(2), n, "EndOthers = %d, %v: want the phone and the old tablet", n, err)
			got, _ = s.Lookup(ctx, second)
			require.Nil(t, got, "session %s survived EndOthers", other.ID)
			got, _ = s.Lookup(ctx, bobToken)
			require.NotNil(t, got, "EndOthers ended another user's session")

			// A sign-in from a client with a session replaces it.
			bobAgain, _, err := s.Create(ctx, db, Start{UserID: "bob", UserState: "state-b", UserAgent: "laptop", IP: "192.0.2.3", Replaces: bobSess.ID})
			require.NoError(t, err)
			got, _ = s.Lookup(ctx, bobToken)
			require.Nil(t, got, "the session a sign-in replaced still works")
			got, _ = s.Lookup(ctx, bobAgain)
			require.NotNil(t, got, "the replacing session does not work")

			// Idle: each lookup within the hour keeps it alive; an hour
			// without one ends it.
			for range 3 {
				clk.Advance(50 * time.Minute)
				got, _ := s.Lookup(ctx, renewed)
				require.NotNil(t, got, "an active session ended before its idle timeout")
			}
			clk.Advance(time.Hour)
			got, _ = s.Lookup(ctx, renewed)
			require.Nil(t, got, "an idle session survived")
			require.NoError(t, s.Prune(ctx))
			var left int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions").Scan(&left)
			require.Equal(t, 0, left, "%d sessions left after pruning expired ones", left)
		})
	}
}
