package apikeys

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// Every API request looks its key up, so under load the lookups are
// grouped: the requests that arrive while one query runs share the next,
// one statement for all their keys, and the keys due a new last_used_at
// share one UPDATE. A lone request still runs its query at once. Nothing
// is cached: a revoked key, or the key of a deactivated account, is
// refused from the moment the revocation or deactivation commits, on every
// instance of the application, because the one query checks the account
// too.

// maxLookups bounds the keys of one query, well under both databases'
// limits on bound parameters.
const maxLookups = 500

// lookupTimeout bounds one query: a stuck one fails its group instead of
// holding every later request.
const lookupTimeout = 10 * time.Second

// lookups is the queue of key lookups and the flag of its goroutine.
type lookups struct {
	mu      sync.Mutex
	waiting []*lookup
	running bool
}

type lookup struct {
	hash string
	key  Key
	err  error // sql.ErrNoRows: no such key
	done chan struct{}
}

// find returns the key whose secret hashes to hash, with last_used_at
// brought up to date, or sql.ErrNoRows.
func (s *Store) find(ctx context.Context, hash string) (Key, error) {
	l := &lookup{hash: hash, done: make(chan struct{})}
	s.lookups.mu.Lock()
	s.lookups.waiting = append(s.lookups.waiting, l)
	start := !s.lookups.running
	s.lookups.running = true
	s.lookups.mu.Unlock()
	if start {
		go s.runLookups()
	}
	select {
	case <-l.done:
		return l.key, l.err
	case <-ctx.Done():
		// The query goes on for the others; this answer is dropped.
		return Key{}, ctx.Err()
	}
}

// runLookups answers the waiting lookups, a query at a time, until none
// waits. The query is nobody's request, so no request's end cancels it.
func (s *Store) runLookups() {
	q := &s.lookups
	for {
		q.mu.Lock()
		n := min(len(q.waiting), maxLookups)
		if n == 0 {
			q.waiting, q.running = nil, false
			q.mu.Unlock()
			return
		}
		group := q.waiting[:n:n]
		q.waiting = q.waiting[n:]
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		s.answer(ctx, group)
		cancel()
	}
}

func (s *Store) answer(ctx context.Context, group []*lookup) {
	keys, err := s.byHashes(ctx, group)
	for _, l := range group {
		if err != nil {
			l.err = err
		} else if k, ok := keys[l.hash]; ok {
			l.key = k
		} else {
			l.err = sql.ErrNoRows
		}
		close(l.done)
	}
}

// byHashes reads the keys of the group's hashes whose accounts are active
// and verified, and notes their use. A key of another account is missing
// from the answer, as an unknown key is.
func (s *Store) byHashes(ctx context.Context, group []*lookup) (map[string]Key, error) {
	args := make([]any, 0, len(group)+1)
	for _, l := range group {
		args = append(args, l.hash)
	}
	args = append(args, true)
	rows, err := s.db.QueryContext(ctx, "SELECT "+keyColumns+", secret_hash FROM api_keys WHERE secret_hash IN ("+database.Marks(len(group), "?")+`)
		AND EXISTS (SELECT 1 FROM users WHERE users.id = api_keys.user_id AND users.active = ? AND users.email_verified_at IS NOT NULL)`, args...)
	if err != nil {
		return nil, fmt.Errorf("look up API keys: %w", err)
	}
	defer rows.Close()
	keys := map[string]Key{}
	for rows.Next() {
		var h string
		k, err := scan(rows, &h)
		if err != nil {
			return nil, fmt.Errorf("look up API keys: %w", err)
		}
		keys[h] = k
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up API keys: %w", err)
	}
	return keys, s.noteUse(ctx, keys)
}

// noteUse moves last_used_at forward for the active keys whose value is
// older than usedEvery, in one statement.
func (s *Store) noteUse(ctx context.Context, keys map[string]Key) error {
	now := s.clock.Now().UTC()
	args := []any{now}
	for h, k := range keys {
		if k.Active() && now.Sub(k.LastUsedAt) > usedEvery {
			args = append(args, k.ID)
			k.LastUsedAt = now
			keys[h] = k
		}
	}
	if len(args) == 1 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id IN ("+database.Marks(len(args)-1, "?")+")", args...); err != nil {
		return fmt.Errorf("note the API keys' use: %w", err)
	}
	return nil
}
