// Package migrate applies the versioned SQL migrations embedded in the
// binary, one set per dialect, and records them in schema_migrations.
//
// A migration is a pair of files in sql/<dialect>/: NNNN_name.up.sql and
// NNNN_name.down.sql, numbered from 0001 without gaps. Each runs in its own
// transaction. Two processes migrating at once cannot both apply a step:
// PostgreSQL serialises them with an advisory lock, SQLite with the write
// lock that BEGIN IMMEDIATE takes, and each step re-reads the version
// inside its transaction.
package migrate

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

//go:embed sql
var files embed.FS

// advisoryLockKey identifies this application's migration lock among the
// advisory locks of a PostgreSQL database.
const advisoryLockKey int64 = 7_318_405_112_664_201

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// State is a migration and when it was applied (zero when pending).
type State struct {
	Migration
	AppliedAt time.Time
}

// Applied reports whether the migration has been applied.
func (s State) Applied() bool { return !s.AppliedAt.IsZero() }

// SchemaError says the database schema is not at the version this build
// expects.
type SchemaError struct {
	Current int
	Latest  int
}

func (e *SchemaError) Error() string {
	if e.Current > e.Latest {
		return fmt.Sprintf("the database schema is at version %d but this build knows only up to %d: deploy the newer build, or run its \"migrate down\" first", e.Current, e.Latest)
	}
	return fmt.Sprintf("the database schema is at version %d but this build needs %d: run \"migrate up\"", e.Current, e.Latest)
}

// Ahead reports whether the database is newer than this build.
func (e *SchemaError) Ahead() bool { return e.Current > e.Latest }

// Migrator applies and reverts the migrations of one database.
type Migrator struct {
	db         *database.DB
	clock      clock.Clock
	migrations []Migration
}

// New loads the embedded migrations for the database's dialect; clk
// stamps when each is applied.
func New(db *database.DB, clk clock.Clock) (*Migrator, error) {
	sub, err := fs.Sub(files, path.Join("sql", string(db.Dialect())))
	if err != nil {
		return nil, fmt.Errorf("find %s migrations: %w", db.Dialect(), err)
	}
	migrations, err := Load(sub)
	if err != nil {
		return nil, err
	}
	return &Migrator{db: db, clock: clk, migrations: migrations}, nil
}

// Load reads NNNN_name.up.sql and NNNN_name.down.sql pairs from fsys and
// checks that they are numbered 1, 2, 3, ... with both halves present.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		name := e.Name()
		base, direction, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), ".")
		if e.IsDir() || !strings.HasSuffix(name, ".sql") || !ok || (direction != "up" && direction != "down") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.up.sql or NNNN_name.down.sql", name)
		}
		num, label, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration file %q does not start with a version number like 0001_", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		m := byVersion[version]
		if m == nil {
			m = &Migration{Version: version, Name: label}
			byVersion[version] = m
		}
		if m.Name != label {
			return nil, fmt.Errorf("migration %d has two names, %q and %q: give the up and down files the same name", version, m.Name, label)
		}
		if direction == "up" {
			m.Up = string(body)
		} else {
			m.Down = string(body)
		}
	}
	migrations := make([]Migration, 0, len(byVersion))
	for v := 1; v <= len(byVersion); v++ {
		m, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("migration %04d is missing: versions must run 1, 2, 3, ... without gaps", v)
		}
		if strings.TrimSpace(m.Up) == "" || strings.TrimSpace(m.Down) == "" {
			return nil, fmt.Errorf("migration %04d_%s needs both an .up.sql and a .down.sql file with SQL in them", v, m.Name)
		}
		migrations = append(migrations, *m)
	}
	return migrations, nil
}

// Latest is the version the schema has once every known migration is applied.
func (m *Migrator) Latest() int { return len(m.migrations) }

// Up applies every pending migration and returns those it applied.
func (m *Migrator) Up(ctx context.Context) ([]Migration, error) {
	var applied []Migration
	err := m.withLock(ctx, func(conn *sql.Conn) error {
		for {
			step, err := m.step(ctx, conn, m.upOne)
			if err != nil {
				return err
			}
			if step == nil {
				return nil
			}
			applied = append(applied, *step)
		}
	})
	return applied, err
}

// Down reverts the most recently applied migration. It returns nil when
// nothing is applied.
func (m *Migrator) Down(ctx context.Context) (*Migration, error) {
	var reverted *Migration
	err := m.withLock(ctx, func(conn *sql.Conn) error {
		var err error
		reverted, err = m.step(ctx, conn, m.downOne)
		return err
	})
	return reverted, err
}

// Current returns the schema version recorded in the database, 0 when no
// migration has run.
func (m *Migrator) Current(ctx context.Context) (int, error) {
	exists, err := m.tableExists(ctx)
	if err != nil || !exists {
		return 0, err
	}
	var v int
	if err := m.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	return v, nil
}

// Check returns a *SchemaError unless the schema is exactly at Latest.
func (m *Migrator) Check(ctx context.Context) error {
	current, err := m.Current(ctx)
	if err != nil {
		return err
	}
	if current != m.Latest() {
		return &SchemaError{Current: current, Latest: m.Latest()}
	}
	return nil
}

// Status lists every known migration with when it was applied, followed by
// any applied version this build does not know.
func (m *Migrator) Status(ctx context.Context) ([]State, error) {
	applied := map[int]State{}
	exists, err := m.tableExists(ctx)
	if err != nil {
		return nil, err
	}
	if exists {
		rows, err := m.db.QueryContext(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
		if err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s State
			if err := rows.Scan(&s.Version, &s.Name, &s.AppliedAt); err != nil {
				return nil, fmt.Errorf("read applied migrations: %w", err)
			}
			applied[s.Version] = s
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
	}
	states := make([]State, 0, len(m.migrations))
	for _, mig := range m.migrations {
		states = append(states, State{Migration: mig, AppliedAt: applied[mig.Version].AppliedAt})
		delete(applied, mig.Version)
	}
	for v := m.Latest() + 1; len(applied) > 0; v++ {
		if s, ok := applied[v]; ok {
			states = append(states, s)
			delete(applied, v)
		}
	}
	return states, nil
}

// withLock runs fn on one connection that holds the migration lock.
func (m *Migrator) withLock(ctx context.Context, fn func(*sql.Conn) error) (err error) {
	conn, err := m.db.SQL().Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Close()
	if m.db.Dialect() == database.Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", advisoryLockKey); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		defer func() {
			// A fresh context: the caller's may be cancelled, and the lock
			// must not outlive this connection's return to the pool.
			unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, uerr := conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", advisoryLockKey); uerr != nil {
				err = errors.Join(err, fmt.Errorf("release the migration lock: %w", uerr))
			}
		}()
	}
	return fn(conn)
}

// step runs one migration step in its own transaction. On SQLite the
// transaction begins IMMEDIATE, so the version it reads cannot change
// before it commits.
func (m *Migrator) step(ctx context.Context, conn *sql.Conn, do func(context.Context, *sql.Tx, int) (*Migration, error)) (*Migration, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin a migration transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := m.createTable(ctx, tx); err != nil {
		return nil, err
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return nil, fmt.Errorf("read the schema version: %w", err)
	}
	if current > m.Latest() {
		return nil, &SchemaError{Current: current, Latest: m.Latest()}
	}
	done, err := do(ctx, tx, current)
	if err != nil || done == nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit migration %04d_%s: %w", done.Version, done.Name, err)
	}
	return done, nil
}

func (m *Migrator) upOne(ctx context.Context, tx *sql.Tx, current int) (*Migration, error) {
	if current == m.Latest() {
		return nil, nil
	}
	next := m.migrations[current]
	if _, err := tx.ExecContext(ctx, next.Up); err != nil {
		return nil, fmt.Errorf("apply migration %04d_%s: %w", next.Version, next.Name, err)
	}
	insert := database.Rebind(m.db.Dialect(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
	if _, err := tx.ExecContext(ctx, insert, next.Version, next.Name, m.clock.Now().UTC()); err != nil {
		return nil, fmt.Errorf("record migration %04d_%s: %w", next.Version, next.Name, err)
	}
	return &next, nil
}

func (m *Migrator) downOne(ctx context.Context, tx *sql.Tx, current int) (*Migration, error) {
	if current == 0 {
		return nil, nil
	}
	last := m.migrations[current-1]
	if _, err := tx.ExecContext(ctx, last.Down); err != nil {
		return nil, fmt.Errorf("revert migration %04d_%s: %w", last.Version, last.Name, err)
	}
	del := database.Rebind(m.db.Dialect(), "DELETE FROM schema_migrations WHERE version = ?")
	if _, err := tx.ExecContext(ctx, del, last.Version); err != nil {
		return nil, fmt.Errorf("unrecord migration %04d_%s: %w", last.Version, last.Name, err)
	}
	return &last, nil
}

func (m *Migrator) createTable(ctx context.Context, tx *sql.Tx) error {
	timestamp := "TIMESTAMP"
	if m.db.Dialect() == database.Postgres {
		timestamp = "TIMESTAMPTZ"
	}
	_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at `+timestamp+` NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return nil
}

func (m *Migrator) tableExists(ctx context.Context) (bool, error) {
	query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if m.db.Dialect() == database.Postgres {
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
	}
	var n int
	if err := m.db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return false, fmt.Errorf("look for schema_migrations: %w", err)
	}
	return n > 0, nil
}
