package database_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		assert.Equal(t, tt.want, database.Rebind(database.Postgres, tt.in), "Rebind(%q)", tt.in)
		assert.Equal(t, tt.in, database.Rebind(database.SQLite, tt.in), "SQLite Rebind(%q) changes nothing", tt.in)
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
		if assert.NoError(t, err, "ParseURL(%q)", tt.url) {
			assert.Equal(t, tt.dialect, dialect, "ParseURL(%q)", tt.url)
			assert.Equal(t, tt.dsn, dsn, "ParseURL(%q)", tt.url)
		}
	}
	for _, bad := range []string{"", "data/app.db", "sqlite:", "sqlite://host/app.db", "sqlite:app.db?mode=ro", "postgres://", "mysql://x/y"} {
		_, _, err := database.ParseURL(bad)
		assert.Error(t, err, "ParseURL(%q)", bad)
	}
}

func TestSQLiteSettings(t *testing.T) {
	db := dbtest.OpenEmpty(t, database.SQLite)
	ctx := context.Background()
	var mode string
	var fk, timeout int
	if assert.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)) {
		assert.Equal(t, "wal", mode, "journal_mode")
	}
	if assert.NoError(t, db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk)) {
		assert.Equal(t, 1, fk, "foreign_keys")
	}
	if assert.NoError(t, db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout)) {
		assert.GreaterOrEqual(t, timeout, 1000, "busy_timeout")
	}
}

// TestSQLiteWriteInsideItsOwnTransactionGivesUp: a write on the pool while
// the same process holds a transaction waits for the write lock that
// transaction holds. It must end with an error when its context does, not
// hang the process.
func TestSQLiteWriteInsideItsOwnTransactionGivesUp(t *testing.T) {
	db := dbtest.OpenEmpty(t, database.SQLite)
	ctx := context.Background()
	_, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY)")
	require.NoError(t, err)
	err = db.InTx(ctx, func(tx *database.Tx) error {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := db.ExecContext(short, "INSERT INTO notes (id) VALUES (1)")
		assert.ErrorIs(t, err, context.DeadlineExceeded, "a pool write inside a transaction ends with its context")
		return nil
	})
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO notes (id) VALUES (1)")
	require.NoError(t, err, "a write after the transaction")
}

func TestQueriesWrittenOnceRunOnBothDialects(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			db := dbtest.OpenEmpty(t, dialect)
			ctx := context.Background()
			_, err := db.ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
			require.NoError(t, err)
			err = db.InTx(ctx, func(tx *database.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?), (?, ?)", 1, "why?", 2, "because")
				return err
			})
			require.NoError(t, err)
			var body string
			require.NoError(t, db.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = ? AND body <> '?'", 1).Scan(&body))
			require.Equal(t, "why?", body)
			// A failing transaction leaves nothing behind.
			err = db.InTx(ctx, func(tx *database.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", 3, "rolled back"); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (?, ?)", 1, "duplicate")
				return err
			})
			require.Error(t, err, "duplicate key did not fail the transaction")
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notes").Scan(&n))
			require.Equal(t, 2, n, "rows after rollback")
		})
	}
}
