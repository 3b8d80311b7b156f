package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"SELECT '?' FROM t WHERE a = ?", "SELECT '?' FROM t WHERE a = $1"},
		{`SELECT "odd?name" FROM t WHERE a = ?`, `SELECT "odd?name" FROM t WHERE a = $1`},
		{"SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , $1"},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
	}
	for _, tt := range tests {
		if got := database.Rebind(database.Postgres, tt.in); got != tt.want {
			t.Errorf("Rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := database.Rebind(database.SQLite, tt.in); got != tt.in {
			t.Errorf("SQLite Rebind(%q) = %q, want it unchanged", tt.in, got)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		dialect database.Dialect
		dsn     string
	}{
		{"sqlite:data/app.db", database.SQLite, "data/app.db"},
		{"sqlite:/data/app.db", database.SQLite, "/data/app.db"},
		{"sqlite:///data/app.db", database.SQLite, "/data/app.db"},
		{"postgres://u:p@localhost:5432/app", database.Postgres, "postgres://u:p@localhost:5432/app"},
		{"postgresql://u@db/app?sslmode=disable", database.Postgres, "postgresql://u@db/app?sslmode=disable"},
	}
	for _, tt := range tests {
		dialect, dsn, err := database.ParseURL(tt.url)
		if err != nil || dialect != tt.dialect || dsn != tt.dsn {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tt.url, dialect, dsn, err, tt.dialect, tt.dsn)
		}
	}
	for _, bad := range []string{"", "data/app.db", "sqlite:", "sqlite://host/app.db", "sqlite:app.db?mode=ro", "postgres://", "mysql://x/y"} {
		if _, _, err := database.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded, want an error", bad)
		}
	}
}

func TestSQLiteSettings(t *testing.T) {
	db := dbtest.OpenEmpty(t, database.SQLite)
	ctx := context.Background()
	var mode string
	var fk, timeout int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout < 1000 {
		t.Errorf("busy_timeout = %d, %v; want at least 1000", timeout, err)
	}
}

// TestSQLiteWriteInsideItsOwnTransactionGivesUp: a write on the pool while
// the same process holds a transaction waits for the write lock that
// transaction holds. It must end with an error when its context does, not
// hang the process.
func TestSQLiteWriteInsideItsOwnTransactionGivesUp(t *testing.T) {
	db := dbtest.OpenEmpty(t, database.SQLite)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	err := db.InTx(ctx, func(tx *database.Tx) error {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := db.ExecContext(short, "INSERT INTO notes (id) VALUES (1)")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a pool write inside a transaction: %v, want the context's deadline", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO notes (id) VALUES (1)"); err != nil {
		t.Fatalf("a write after the transaction: %v", err)
	}
}

func TestQueriesWrittenOnceRunOnBothDialects(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			db := dbtest.OpenEmpty(t, dialect)
			ctx := context.Background()
			if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			err := db.InTx(ctx, func(tx *database.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?), (?, ?)", 1, "why?", 2, "because")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var body string
			if err := db.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = ? AND body <> '?'", 1).Scan(&body); err != nil || body != "why?" {
				t.Fatalf("body = %q, %v", body, err)
			}
			// A failing transaction leaves nothing behind.
			err = db.InTx(ctx, func(tx *database.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", 3, "rolled back"); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", 1, "duplicate")
				return err
			})
			if err == nil {
				t.Fatal("duplicate key did not fail the transaction")
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n); err != nil || n != 2 {
				t.Fatalf("rows after rollback = %d, %v; want 2", n, err)
			}
		})
	}
}
