package sessions

import (
	"context"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
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

			token, sess, err := s.Create(ctx, "ada", "Firefox \xff broken utf-8", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			var stored string
			db.QueryRowContext(ctx, "SELECT token_hash FROM sessions WHERE id = ?", sess.ID).Scan(&stored)
			if stored == token || len(stored) != 64 {
				t.Fatalf("stored token %q: want its SHA-256, never the token", stored)
			}
			if got, err := s.Lookup(ctx, token); err != nil || got == nil || got.UserID != "ada" {
				t.Fatalf("Lookup = %+v, %v", got, err)
			}
			if got, _ := s.Lookup(ctx, token+"x"); got != nil {
				t.Fatal("a wrong token found a session")
			}

			renewed, err := s.Renew(ctx, &sess, true)
			if err != nil || renewed == token {
				t.Fatalf("Renew = %q, %v", renewed, err)
			}
			if got, _ := s.Lookup(ctx, token); got != nil {
				t.Fatal("the token before renewal still works")
			}

			second, other, _ := s.Create(ctx, "ada", "phone", "192.0.2.2")
			bobToken, bobSess, _ := s.Create(ctx, "bob", "laptop", "192.0.2.3")
			if ended, _ := s.EndForUser(ctx, "ada", bobSess.ID); ended {
				t.Fatal("ada ended bob's session")
			}
			list, _ := s.List(ctx, "ada")
			if len(list) != 2 {
				t.Fatalf("ada has %d sessions listed, want 2", len(list))
			}
			if n, err := s.EndOthers(ctx, "ada", sess.ID); err != nil || n != 1 {
				t.Fatalf("EndOthers = %d, %v", n, err)
			}
			if got, _ := s.Lookup(ctx, second); got != nil {
				t.Fatalf("session %s survived EndOthers", other.ID)
			}
			if got, _ := s.Lookup(ctx, bobToken); got == nil {
				t.Fatal("EndOthers ended another user's session")
			}

			// Idle: each lookup within the hour keeps it alive; an hour
			// without one ends it.
			for range 3 {
				clk.Advance(50 * time.Minute)
				if got, _ := s.Lookup(ctx, renewed); got == nil {
					t.Fatal("an active session ended before its idle timeout")
				}
			}
			clk.Advance(time.Hour)
			if got, _ := s.Lookup(ctx, renewed); got != nil {
				t.Fatal("an idle session survived")
			}
			if err := s.Prune(ctx); err != nil {
				t.Fatal(err)
			}
			var n int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions").Scan(&n)
			if n != 0 {
				t.Fatalf("%d sessions left after pruning expired ones", n)
			}
		})
	}
}
