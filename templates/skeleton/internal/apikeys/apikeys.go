// Package apikeys holds the keys that programs use to call the JSON API on a
// user's behalf. A key is shown once, when it is made; only its SHA-256 hash
// is stored, with a short visible prefix so users can tell their keys apart.
// It is the only code that writes api_keys.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Key is a stored key, without its secret.
type Key struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // the first characters of the key, safe to show
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: active
}

// Active reports whether the key still works.
func (k Key) Active() bool { return k.RevokedAt.IsZero() }

// Errors callers turn into answers.
var (
	// ErrInvalid covers unknown, malformed and revoked keys alike, so an
	// answer never tells a guesser which one it was.
	ErrInvalid  = errors.New("the API key is not valid: create a key in your settings and send it as \"Authorization: Bearer <key>\"")
	ErrNotFound = errors.New("no such API key")
	ErrTooMany  = fmt.Errorf("you have %d active API keys, the most allowed: revoke one you no longer use", MaxActive)
)

// MaxActive bounds the active keys of one user.
const MaxActive = 20

// MaxNameLength bounds a key's name.
const MaxNameLength = 100

// tokenPrefix marks a string as one of this application's keys, so secret
// scanners and people can recognise a leaked one.
const tokenPrefix = "sk_"

// usedEvery is how stale last_used_at may get: writing it on every request
// would turn every API read into a write.
const usedEvery = time.Minute

// Store reads and writes API keys.
type Store struct {
	db      *database.DB
	clock   clock.Clock
	lookups lookups // lookup.go
}

// New returns the key store in db; clk dates creation, use and revocation.
func New(db *database.DB, clk clock.Clock) *Store { return &Store{db: db, clock: clk} }

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create makes a key for the user and returns it with its secret token,
// which is never available again. notice, when set, runs in the key's
// transaction, so that the email telling the user is queued exactly when
// the key exists.
func (s *Store) Create(ctx context.Context, userID, name string, notice func(ctx context.Context, tx *database.Tx, k Key) error) (Key, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > MaxNameLength || strings.ContainsAny(name, "\r\n") {
		return Key{}, "", fmt.Errorf("give the key a name of 1 to %d characters on one line, e.g. \"build server\"", MaxNameLength)
	}
	// 26 base32 characters carry 130 random bits.
	public := strings.ToLower(rand.Text())[:8]
	token := tokenPrefix + public + "_" + strings.ToLower(rand.Text())
	k := Key{ID: rand.Text(), UserID: userID, Name: name, Prefix: tokenPrefix + public, CreatedAt: s.clock.Now().UTC()}
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var active int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND revoked_at IS NULL", userID).Scan(&active); err != nil {
			return fmt.Errorf("count API keys: %w", err)
		}
		if active >= MaxActive {
			return ErrTooMany
		}
		_, err := tx.ExecContext(ctx,
			"INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			k.ID, k.UserID, k.Name, k.Prefix, hash(token), k.CreatedAt)
		if err != nil {
			return fmt.Errorf("store the API key: %w", err)
		}
		if notice == nil {
			return nil
		}
		return notice(ctx, tx, k)
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, token, nil
}

// Authenticate returns the active key a token belongs to, or ErrInvalid.
// Concurrent calls share their queries (lookup.go).
func (s *Store) Authenticate(ctx context.Context, token string) (Key, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return Key{}, ErrInvalid
	}
	k, err := s.find(ctx, hash(token))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !k.Active() {
		return Key{}, ErrInvalid
	}
	return k, err
}

// List returns the user's keys, newest first, revoked ones included.
func (s *Store) List(ctx context.Context, userID string) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx, selectKey+" WHERE user_id = ? ORDER BY created_at DESC, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Revoke ends one of the user's keys at once. A key of another user is
// ErrNotFound, as if it did not exist.
func (s *Store) Revoke(ctx context.Context, userID, id string) error {
	r, err := s.db.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
		s.clock.Now().UTC(), id, userID)
	if err != nil {
		return fmt.Errorf("revoke the API key: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("revoke the API key: %w", err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeAll ends every active key of the user through tx, the
// transaction of the change that calls for it (a password reset), and
// returns how many it ended.
func (s *Store) RevokeAll(ctx context.Context, tx *database.Tx, userID string) (int64, error) {
	r, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
		s.clock.Now().UTC(), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke the API keys: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("revoke the API keys: %w", err)
	}
	return n, nil
}

const (
	keyColumns = "id, user_id, name, prefix, created_at, last_used_at, revoked_at"
	selectKey  = "SELECT " + keyColumns + " FROM api_keys"
)

// scan reads a row of keyColumns, then the extra columns into extra.
func scan(row interface{ Scan(...any) error }, extra ...any) (Key, error) {
	var k Key
	var used, revoked sql.NullTime
	if err := row.Scan(append([]any{&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.CreatedAt, &used, &revoked}, extra...)...); err != nil {
		return Key{}, err
	}
	k.LastUsedAt, k.RevokedAt = used.Time, revoked.Time
	return k, nil
}
