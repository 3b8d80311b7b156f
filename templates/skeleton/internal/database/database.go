// Package database opens the application's SQL database, SQLite or
// PostgreSQL, and lets every query be written once: placeholders are written
// as ? and rebound to $1, $2, ... for PostgreSQL.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// pgMaxConns bounds the PostgreSQL connections of one process, well under
// the server's default max_connections of 100.
const pgMaxConns = 25

// Dialect names the SQL dialect a database speaks.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a connection pool that rebinds ? placeholders for its dialect.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	// writers queues this process's SQLite writes, one at a time (a
	// one-slot semaphore). SQLite has one writer at a time anyway; waiting
	// here wakes the next one the moment the lock frees, where busy_timeout
	// polls with sleeps of up to 100 ms. Other processes still meet
	// busy_timeout.
	writers chan struct{}
}

// busyTimeout is how long a SQLite write waits for the write lock, held by
// another process (SQLite's busy_timeout) or by this one (writers), before
// it fails. A write on the pool made inside a transaction of the same pool
// waits for itself: it fails after this long instead of hanging.
const busyTimeout = 10 * time.Second

// lockWriters takes this process's SQLite write slot; unlock gives it back.
func (db *DB) lockWriters(ctx context.Context) (unlock func(), err error) {
	if db.dialect != SQLite {
		return func() {}, nil
	}
	timer := time.NewTimer(busyTimeout)
	defer timer.Stop()
	select {
	case db.writers <- struct{}{}:
		return func() { <-db.writers }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, fmt.Errorf("database is locked: another write of this process held it for %s (a write on the pool inside a transaction waits for itself: use the transaction)", busyTimeout)
	}
}

// Open connects to the database named by a DATABASE_URL value:
// sqlite:<path> (sqlite:data/app.db, sqlite:/data/app.db) or
// postgres://user:password@host:port/name.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	dialect, dsn, err := ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	switch dialect {
	case SQLite:
		db, err = openSQLite(dsn)
	case Postgres:
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			// database/sql keeps two idle connections by default: under
			// load every query beyond them opened and closed a server
			// process of its own.
			db.SetMaxOpenConns(pgMaxConns)
			db.SetMaxIdleConns(pgMaxConns)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to the %s database: %w (check DATABASE_URL and that the database server is running)", dialect, err)
	}
	return &DB{sql: db, dialect: dialect, writers: make(chan struct{}, 1)}, nil
}

// ParseURL splits a DATABASE_URL value into its dialect and the driver's
// data source name.
func ParseURL(databaseURL string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		path, err := sqlitePath(strings.TrimPrefix(databaseURL, "sqlite:"))
		if err != nil {
			return "", "", err
		}
		return SQLite, path, nil
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		u, err := url.Parse(databaseURL)
		if err != nil {
			// url.Parse echoes the input, password included: never return it.
			return "", "", errors.New("DATABASE_URL is not a valid PostgreSQL URL: use postgres://user:password@host:5432/name")
		}
		if u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return "", "", errors.New("DATABASE_URL lacks a host or database name: use postgres://user:password@host:5432/name")
		}
		return Postgres, databaseURL, nil
	default:
		return "", "", errors.New("DATABASE_URL must start with sqlite: (e.g. sqlite:data/app.db) or postgres:// (e.g. postgres://user:password@localhost:5432/app)")
	}
}

// sqlitePath accepts sqlite:data/app.db, sqlite:/data/app.db and the URL
// form sqlite:///data/app.db.
func sqlitePath(rest string) (string, error) {
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse("sqlite:" + rest)
		if err != nil || u.Host != "" {
			return "", errors.New("DATABASE_URL has a host in a sqlite URL: use sqlite:data/app.db or sqlite:/absolute/path/app.db")
		}
		rest = u.Path
	}
	if rest == "" || strings.ContainsAny(rest, "?#") {
		return "", errors.New("DATABASE_URL needs a file path after sqlite: and no query, e.g. sqlite:data/app.db")
	}
	return filepath.Clean(rest), nil
}

func openSQLite(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create the directory for %s: %w", path, err)
	}
	// WAL lets readers run beside the one writer; busy_timeout makes writers
	// queue instead of failing with SQLITE_BUSY; _txlock=immediate takes the
	// write lock at BEGIN so a transaction never fails half-way on upgrade.
	// synchronous=FULL syncs the WAL at every commit: with NORMAL a power
	// cut may lose the last commits, and a credit acknowledged to a client
	// must survive one.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Dialect reports which SQL dialect the database speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the underlying pool for code that must manage connections
// itself (migrations hold one connection for their lock).
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }

// PingContext checks that the database answers.
func (db *DB) PingContext(ctx context.Context) error { return db.sql.PingContext(ctx) }

// ExecContext runs a statement written with ? placeholders. On SQLite it
// waits its turn behind this process's write transactions (see writers):
// busy_timeout's polling could starve it while they follow one another.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := db.lockWriters(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return db.sql.ExecContext(ctx, Rebind(db.dialect, query), args...)
}

// QueryContext runs a query written with ? placeholders.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.sql.QueryContext(ctx, Rebind(db.dialect, query), args...)
}

// QueryRowContext runs a query written with ? placeholders.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.sql.QueryRowContext(ctx, Rebind(db.dialect, query), args...)
}

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. On SQLite the transaction holds the write lock from BEGIN.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	unlock, err := db.lockWriters(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer unlock()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(&Tx{tx: tx, dialect: db.dialect}); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Execer is a DB or a Tx: a write that takes one joins the caller's
// transaction when there is one.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Tx is a transaction that rebinds ? placeholders for its dialect.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
}

// ExecContext runs a statement written with ? placeholders.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, Rebind(tx.dialect, query), args...)
}

// QueryContext runs a query written with ? placeholders.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, Rebind(tx.dialect, query), args...)
}

// QueryRowContext runs a query written with ? placeholders.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, Rebind(tx.dialect, query), args...)
}

// Marks repeats row, a ? or a row of them like "(?, ?)", n times,
// comma-separated: an IN list, or the VALUES of a statement of n rows.
func Marks(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// LikePattern matches, with LIKE ... ESCAPE '\', any text containing s
// lowercased: its own wildcards are escaped, so a search for "a_b"
// matches only that.
func LikePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// Rebind rewrites ? placeholders to $1, $2, ... for PostgreSQL. A ? inside
// a quoted string, a quoted identifier or a comment is left alone.
func Rebind(dialect Dialect, query string) string {
	if dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+1])
			i += end
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
