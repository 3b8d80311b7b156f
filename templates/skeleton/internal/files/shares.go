package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Share is a link that lets anyone holding it download one file until it
// expires or its owner revokes it.
type Share struct {
	ID        string
	FileID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero: not revoked
}

// Active reports whether the link works at now.
func (s Share) Active(now time.Time) bool { return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) }

// ErrShareInvalid covers unknown, altered, expired and revoked links and
// links to deleted files alike: the answer tells a guesser nothing.
var ErrShareInvalid = errors.New("this link does not work: it has expired or been revoked; ask for a new one")

// MaxShareDays bounds how long a link may live.
const MaxShareDays = 30

// tokenBytes is 256 random bits: a link cannot be guessed, and only its
// hash is stored, so the table cannot be read back into links.
const tokenBytes = 32

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateShare makes a link to the user's file valid for days days and
// returns it with its token, which is shown once.
func (s *Service) CreateShare(ctx context.Context, userID, fileID string, days int) (Share, string, error) {
	if days < 1 || days > MaxShareDays {
		return Share{}, "", &Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_days", Message: fmt.Sprintf("choose how long the link works: 1 to %d days", MaxShareDays)}
	}
	if _, err := s.Get(ctx, userID, fileID); err != nil {
		return Share{}, "", err
	}
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails on supported platforms
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.clock.Now().UTC()
	sh := Share{ID: rand.Text(), FileID: fileID, CreatedAt: now, ExpiresAt: now.AddDate(0, 0, days)}
	_, err := s.db.ExecContext(ctx, "INSERT INTO file_shares (id, file_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		sh.ID, sh.FileID, tokenHash(token), sh.CreatedAt, sh.ExpiresAt)
	if err != nil {
		return Share{}, "", fmt.Errorf("store a share link: %w", err)
	}
	return sh, token, nil
}

// Shares lists the links to the user's file, newest first.
func (s *Service) Shares(ctx context.Context, userID, fileID string) ([]Share, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT s.id, s.file_id, s.created_at, s.expires_at, s.revoked_at FROM file_shares s JOIN files f ON f.id = s.file_id
		 WHERE s.file_id = ? AND f.user_id = ? ORDER BY s.created_at DESC, s.id`, fileID, userID)
	if err != nil {
		return nil, fmt.Errorf("list share links: %w", err)
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		var sh Share
		var revoked sql.NullTime
		if err := rows.Scan(&sh.ID, &sh.FileID, &sh.CreatedAt, &sh.ExpiresAt, &revoked); err != nil {
			return nil, fmt.Errorf("list share links: %w", err)
		}
		sh.RevokedAt = revoked.Time
		out = append(out, sh)
	}
	return out, rows.Err()
}

// RevokeShare ends one of the user's links at once.
func (s *Service) RevokeShare(ctx context.Context, userID, shareID string) error {
	return s.updateOne(ctx, `UPDATE file_shares SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL
		AND file_id IN (SELECT id FROM files WHERE user_id = ?)`, s.clock.Now().UTC(), shareID, userID)
}

// Shared returns the file a link's token opens, or ErrShareInvalid.
func (s *Service) Shared(ctx context.Context, token string) (File, error) {
	if len(token) > 64 {
		return File{}, ErrShareInvalid
	}
	f, err := s.one(ctx, `deleted_at IS NULL AND id = (SELECT file_id FROM file_shares
		WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?)`, tokenHash(token), s.clock.Now().UTC())
	if errors.Is(err, ErrNotFound) {
		return File{}, ErrShareInvalid
	}
	return f, err
}
