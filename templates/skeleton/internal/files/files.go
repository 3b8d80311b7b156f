// Package files keeps users' files: the records (owner, display name,
// folder, size, sniffed type, checksum, image dimensions), each user's
// quota, and what may be stored at all. The contents live in a
// storage.Store under keys this package makes (u/<user id>/<random>); a
// name the user gave is only ever displayed. It is the only code that
// writes the files, file_usage, file_uploads and file_shares tables.
package files

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/semaphore"

	"github.com/quickscale/quickscale/templates/skeleton/internal/audit"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
)

// File is one stored file.
type File struct {
	ID     string
	UserID string
	// Key is where the contents are stored; never shown.
	Key          string
	Name         string
	Folder       string
	Size         int64
	ContentType  string
	SHA256       string
	Width        int
	Height       int
	ThumbnailKey string
	CreatedAt    time.Time
	DeletedAt    time.Time // zero: not deleted
}

// Limits bound what one user may store.
type Limits struct {
	MaxUploadBytes int64
	QuotaBytes     int64
}

// UndoWindow is how long a deleted file can be restored before the purge
// job removes it.
const UndoWindow = 30 * time.Second

// ErrNotFound is a file that does not exist, is deleted, or belongs to
// another user: the three are answered alike, so an id tells nothing.
var ErrNotFound = errors.New("no such file")

// Problem is input the user can fix; its message says how.
type Problem struct {
	// Status is the HTTP status that answers it; Code names it for the
	// JSON API and never changes meaning.
	Status  int
	Code    string
	Message string
}

func (p *Problem) Error() string { return p.Message }

// Service stores and finds users' files.
type Service struct {
	db     *database.DB
	store  storage.Store
	jobs   *jobs.Queue
	clock  clock.Clock
	logger *slog.Logger
	limits Limits
	// tempDir holds uploads while they are checked; "" is the system's,
	// which the orphan sweep leaves alone.
	tempDir string
	// decodeMemory holds the decode budget, in bytes, that images being
	// decoded, turned and encoded take from.
	decodeMemory *semaphore.Weighted
}

// Options are the Service's dependencies.
type Options struct {
	DB    *database.DB
	Store storage.Store
	// Jobs is the queue thumbnails are made on.
	Jobs    *jobs.Queue
	Clock   clock.Clock
	Logger  *slog.Logger
	Limits  Limits
	TempDir string
}

// New returns the service.
func New(o Options) *Service {
	return &Service{db: o.DB, store: o.Store, jobs: o.Jobs, clock: o.Clock, logger: o.Logger, limits: o.Limits, tempDir: o.TempDir,
		decodeMemory: semaphore.NewWeighted(decodeBudget)}
}

// Limits returns the limits the service enforces.
func (s *Service) Limits() Limits { return s.limits }

// newKey is a storage key of the user's that nobody can guess.
func newKey(userID string) string {
	return "u/" + userID + "/" + strings.ToLower(rand.Text())
}

// maxNameBytes matches the column's limit and common file systems'.
const maxNameBytes = 255

// CleanName makes a display name of what a browser or client sent: the
// last path segment, valid UTF-8, no control characters (so no CR or LF)
// nor invisible format ones (a right-to-left override shows "gnp.exe" as
// "exe.png"), at most 255 bytes. The name never becomes a path; this keeps it
// readable and harmless wherever it is shown.
func CleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name))
	for len(name) > maxNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

// CleanFolder is a folder name, cleaned as a file name; "" is the top.
func CleanFolder(folder string) string {
	if strings.TrimSpace(folder) == "" {
		return ""
	}
	return CleanName(folder)
}

const selectFile = `SELECT id, user_id, storage_key, name, folder, size, content_type, sha256, width, height,
	COALESCE(thumbnail_key, ''), created_at, deleted_at FROM files`

func scanFile(row interface{ Scan(...any) error }) (File, error) {
	var f File
	var deleted sql.NullTime
	err := row.Scan(&f.ID, &f.UserID, &f.Key, &f.Name, &f.Folder, &f.Size, &f.ContentType, &f.SHA256,
		&f.Width, &f.Height, &f.ThumbnailKey, &f.CreatedAt, &deleted)
	f.DeletedAt = deleted.Time
	return f, err
}

// Get returns the user's file id, unless it is deleted.
func (s *Service) Get(ctx context.Context, userID, id string) (File, error) {
	return s.one(ctx, "id = ? AND user_id = ? AND deleted_at IS NULL", id, userID)
}

// Recent returns the user's file id if it was deleted within the undo
// window, for the page that offers to restore it.
func (s *Service) Recent(ctx context.Context, userID, id string) (File, error) {
	return s.one(ctx, "id = ? AND user_id = ? AND deleted_at > ?", id, userID, s.clock.Now().UTC().Add(-UndoWindow))
}

func (s *Service) one(ctx context.Context, where string, args ...any) (File, error) {
	f, err := scanFile(s.db.QueryRowContext(ctx, selectFile+" WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("read a file: %w", err)
	}
	return f, nil
}

// Used is the bytes the user's files take, deleted ones not yet purged
// included (their contents are still stored).
func (s *Service) Used(ctx context.Context, userID string) (int64, error) {
	var used int64
	err := s.db.QueryRowContext(ctx, "SELECT bytes FROM file_usage WHERE user_id = ?", userID).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read storage used: %w", err)
	}
	return used, nil
}

// Delete marks the user's file deleted: it disappears at once and can be
// restored within UndoWindow.
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	return s.updateOne(ctx, "UPDATE files SET deleted_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
		s.clock.Now().UTC(), id, userID)
}

// AdminDelete deletes a file of ownerID's for the administrator actorID,
// recording it in the audit log in the same transaction; the owner can
// still restore it within the undo window.
func (s *Service) AdminDelete(ctx context.Context, actorID, ownerID, id string) error {
	now := s.clock.Now().UTC()
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, "SELECT name FROM files WHERE id = ? AND user_id = ? AND deleted_at IS NULL", id, ownerID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read a file: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE files SET deleted_at = ? WHERE id = ?", now, id); err != nil {
			return fmt.Errorf("delete a file: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, ActorID: actorID, TargetID: ownerID, Action: "file.deleted", Detail: name})
	})
}

// Rename gives the user's file a new display name, cleaned as an
// upload's is; its contents and key stay as they are.
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	return s.updateOne(ctx, "UPDATE files SET name = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL", CleanName(name), id, userID)
}

// Move puts the user's file in folder ("" for the top).
func (s *Service) Move(ctx context.Context, userID, id, folder string) error {
	return s.updateOne(ctx, "UPDATE files SET folder = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL", CleanFolder(folder), id, userID)
}

// Restore undoes Delete within UndoWindow.
func (s *Service) Restore(ctx context.Context, userID, id string) error {
	return s.updateOne(ctx, "UPDATE files SET deleted_at = NULL WHERE id = ? AND user_id = ? AND deleted_at > ?",
		id, userID, s.clock.Now().UTC().Add(-UndoWindow))
}

// updateOne runs an UPDATE that must change one row, else ErrNotFound.
func (s *Service) updateOne(ctx context.Context, query string, args ...any) error {
	r, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update a file: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return ErrNotFound
	}
	return nil
}

// quotaProblem is the answer to an upload the quota has no room for.
func quotaProblem(size, used, quota int64) *Problem {
	return &Problem{Status: http.StatusRequestEntityTooLarge, Code: "quota_exceeded", Message: fmt.Sprintf(
		"this file (%s) does not fit in your storage: %s of %s used. Delete files you no longer need, then upload it again",
		FormatBytes(size), FormatBytes(used), FormatBytes(quota))}
}

// FormatBytes writes n for people: 512 B, 2.5 MB, 1.0 GB (powers of 1,024).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTP"[exp])
}
