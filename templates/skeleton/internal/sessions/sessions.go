// Package sessions keeps signed-in sessions in the database. The browser
// holds only a random token; the table holds its SHA-256, so a leaked
// database copy signs nobody in. Ending a session is deleting its row, so
// logout and "sign out other sessions" take effect at once, on every
// instance.
//
// A session also records the state of its account when it was signed in
// (the caller's fingerprint of the password and address): the caller
// refuses a session whose account is no longer in that state, so a
// password or address change ends it whatever code made the change.
package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
)

// Session is one signed-in browser.
type Session struct {
	ID     string // public id, for listing and ending; never the token
	UserID string
	// UserState is the account's state when the session was signed in or
	// last renewed; the session is valid only while the account has it.
	UserState string
	// AuthenticatedAt is when the password was last entered in this
	// session: sensitive changes need it to be recent.
	AuthenticatedAt time.Time
	CreatedAt       time.Time
	LastSeenAt      time.Time
	ExpiresAt       time.Time
	UserAgent       string
	IP              string
}

// Timeouts bound a session's life.
type Timeouts struct {
	Idle     time.Duration // without a request
	Absolute time.Duration // since sign-in, whatever the activity
}

// DefaultTimeouts end a session after 12 idle hours or 14 days.
var DefaultTimeouts = Timeouts{Idle: 12 * time.Hour, Absolute: 14 * 24 * time.Hour}

// touchInterval is how stale last_seen_at may get before a request
// refreshes it: writing it on every request would make every page a write.
const touchInterval = time.Minute

// Store is the sessions table.
type Store struct {
	db       *database.DB
	timeouts Timeouts
	clock    clock.Clock
}

// New returns a store over db whose timeouts run on clk.
func New(db *database.DB, timeouts Timeouts, clk clock.Clock) *Store {
	return &Store{db: db, timeouts: timeouts, clock: clk}
}

// Timeouts returns the store's timeouts.
func (s *Store) Timeouts() Timeouts { return s.timeouts }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Start is a sign-in for Create to start a session for.
type Start struct {
	UserID    string
	UserState string // the account's state, see Session.UserState
	UserAgent string
	IP        string
	// Replaces is the id of the client's session before the sign-in, if
	// it had one: it ends as the new one starts, so that the token before
	// a sign-in is never the token after (no fixation).
	Replaces string
}

// Create starts the session of st through ex, which may be the transaction
// that records the sign-in, and returns its token, the cookie's value: 256
// random bits.
func (s *Store) Create(ctx context.Context, ex database.Execer, st Start) (string, Session, error) {
	now := s.clock.Now().UTC()
	sess := Session{ID: rand.Text(), UserID: st.UserID, UserState: st.UserState, AuthenticatedAt: now, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.timeouts.Absolute), UserAgent: truncate(st.UserAgent, 300), IP: truncate(st.IP, 64)}
	if st.Replaces != "" {
		if _, err := ex.ExecContext(ctx, "DELETE FROM sessions WHERE id = ?", st.Replaces); err != nil {
			return "", Session{}, fmt.Errorf("end the session before sign-in: %w", err)
		}
	}
	token := newToken()
	_, err := ex.ExecContext(ctx, `INSERT INTO sessions
		(id, token_hash, user_id, user_state, created_at, authenticated_at, last_seen_at, expires_at, user_agent, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, hashToken(token), sess.UserID, sess.UserState, sess.CreatedAt, sess.AuthenticatedAt, sess.LastSeenAt, sess.ExpiresAt, sess.UserAgent, sess.IP)
	if err != nil {
		return "", Session{}, fmt.Errorf("start session: %w", err)
	}
	return token, sess, nil
}

// Lookup returns the live session of token, or nil when there is none:
// unknown, ended, idle too long or past its absolute end.
func (s *Store) Lookup(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, nil
	}
	sess, err := scan(s.db.QueryRowContext(ctx, selectSession+" WHERE token_hash = ?", hashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up session: %w", err)
	}
	now := s.clock.Now().UTC()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.timeouts.Idle)) {
		if err := s.End(ctx, sess.ID); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		sess.LastSeenAt = now
		if _, err := s.db.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id = ?", now, sess.ID); err != nil {
			return nil, fmt.Errorf("refresh session: %w", err)
		}
	}
	return &sess, nil
}

// Renew replaces sess's token with a new one, so that a token seen before
// a privilege change (sign-in, reauthentication) is worthless after it,
// and binds the session to userState, the account's state now: the
// session that changed the password or address lives on with the new one.
// With reauthenticated, the session counts as freshly authenticated.
func (s *Store) Renew(ctx context.Context, sess *Session, userState string, reauthenticated bool) (string, error) {
	token := newToken()
	now := s.clock.Now().UTC()
	if reauthenticated {
		sess.AuthenticatedAt = now
	}
	sess.UserState = userState
	_, err := s.db.ExecContext(ctx, "UPDATE sessions SET token_hash = ?, user_state = ?, authenticated_at = ?, last_seen_at = ? WHERE id = ?",
		hashToken(token), sess.UserState, sess.AuthenticatedAt, now, sess.ID)
	if err != nil {
		return "", fmt.Errorf("renew session: %w", err)
	}
	sess.LastSeenAt = now
	return token, nil
}

// End ends one session.
func (s *Store) End(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE id = ?", id); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndForUser ends one of userID's sessions; another user's id ends nothing.
func (s *Store) EndForUser(ctx context.Context, userID, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return false, fmt.Errorf("end session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// EndOthers ends every session of userID except keepID, and returns how
// many it ended.
func (s *Store) EndOthers(ctx context.Context, userID, keepID string) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ? AND id <> ?", userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// EndAll ends every session of userID.
func (s *Store) EndAll(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// List returns userID's live sessions, those bound to userState, the
// account's state now, most recently used first.
func (s *Store) List(ctx context.Context, userID, userState string) ([]Session, error) {
	now := s.clock.Now().UTC()
	rows, err := s.db.QueryContext(ctx, selectSession+` WHERE user_id = ? AND user_state = ? AND expires_at > ? AND last_seen_at > ?
		ORDER BY last_seen_at DESC, id`, userID, userState, now, now.Add(-s.timeouts.Idle))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// RegisterJobs puts the store's background work on q: every ten minutes,
// the sessions past their idle or absolute timeout are deleted.
func (s *Store) RegisterJobs(q *jobs.Queue) {
	q.Every(jobs.Periodic{Kind: "sessions.prune", Every: 10 * time.Minute}, func(ctx context.Context, _ time.Time) error {
		return s.Prune(ctx)
	})
}

// Prune deletes sessions that can no longer be used.
func (s *Store) Prune(ctx context.Context) error {
	now := s.clock.Now().UTC()
	_, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", now, now.Add(-s.timeouts.Idle))
	if err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	return nil
}

const selectSession = `SELECT id, user_id, user_state, created_at, authenticated_at, last_seen_at, expires_at, user_agent, ip FROM sessions`

// scan reads a row of selectSession.
func scan(row interface{ Scan(...any) error }) (Session, error) {
	var sess Session
	err := row.Scan(&sess.ID, &sess.UserID, &sess.UserState, &sess.CreatedAt, &sess.AuthenticatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &sess.UserAgent, &sess.IP)
	return sess, err
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// truncate bounds a client-supplied value and drops invalid UTF-8, which
// PostgreSQL refuses to store.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
