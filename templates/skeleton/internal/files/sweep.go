package files

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
)

// orphanAge is how old an object without a record must be before the
// sweep removes it: younger ones may be uploads whose record is being
// written.
const orphanAge = time.Hour

// RegisterJobs adds the thumbnails, the purge of deleted files and the
// sweep of orphaned objects to the queue. All are idempotent: a run that
// dies is run again.
func (s *Service) RegisterJobs(q *jobs.Queue) {
	s.registerThumbnails(q)
	q.Every(jobs.Periodic{Kind: "files.purge", Every: time.Minute}, func(ctx context.Context, _ time.Time) error {
		_, err := s.Purge(ctx)
		return err
	})
	q.Every(jobs.Periodic{Kind: "files.sweep_orphans", Every: time.Hour}, func(ctx context.Context, _ time.Time) error {
		_, err := s.SweepOrphans(ctx)
		return err
	})
}

// Purge removes the files deleted longer ago than the undo window, and
// gives their bytes back to the quota. It returns how many it removed.
func (s *Service) Purge(ctx context.Context) (int, error) {
	cutoff := s.clock.Now().UTC().Add(-UndoWindow)
	rows, err := s.db.QueryContext(ctx, selectFile+" WHERE deleted_at IS NOT NULL AND deleted_at <= ?", cutoff)
	if err != nil {
		return 0, fmt.Errorf("find deleted files: %w", err)
	}
	var due []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("find deleted files: %w", err)
		}
		due = append(due, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find deleted files: %w", err)
	}
	purged := 0
	for _, f := range due {
		gone, err := s.purge(ctx, f, cutoff)
		if err != nil {
			return purged, err
		}
		if gone {
			purged++
		}
	}
	return purged, nil
}

// purge removes f's record, if it is still deleted past cutoff, with its
// bytes from the usage, then its contents: a restore landing meanwhile
// either keeps the record or finds it gone, never a record without its
// contents. Contents whose removal fails are left to the orphan sweep.
func (s *Service) purge(ctx context.Context, f File, cutoff time.Time) (bool, error) {
	gone := false
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		r, err := tx.ExecContext(ctx, "DELETE FROM files WHERE id = ? AND deleted_at <= ?", f.ID, cutoff)
		if err != nil {
			return fmt.Errorf("purge a deleted file: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil || n == 0 {
			return err // restored or purged meanwhile
		}
		gone = true
		_, err = tx.ExecContext(ctx, "UPDATE file_usage SET bytes = bytes - ? WHERE user_id = ?", f.Size, f.UserID)
		return err
	})
	if err != nil || !gone {
		return false, err
	}
	for _, key := range []string{f.Key, f.ThumbnailKey} {
		if key == "" {
			continue
		}
		if err := s.store.Delete(ctx, key); err != nil {
			s.logger.WarnContext(ctx, "remove a purged file's contents; the orphan sweep will", "key", key, "error", err)
		}
	}
	return true, nil
}

// SweepOrphans removes the objects under u/ that no file, thumbnail or
// pending upload names and that are older than an hour: the contents of
// an upload whose record was never written (the process died between
// the two, or a signed upload was never completed). It returns how many
// it removed.
func (s *Service) SweepOrphans(ctx context.Context) (int, error) {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM file_uploads WHERE expires_at < ?", s.clock.Now().UTC().Add(-orphanAge)); err != nil {
		return 0, fmt.Errorf("remove expired uploads: %w", err)
	}
	cutoff := s.clock.Now().Add(-orphanAge)
	var orphans []string
	err := s.store.Walk(ctx, "u/", func(o storage.Info) error {
		if o.ModTime.After(cutoff) {
			return nil
		}
		known, err := s.keyKnown(ctx, o.Key)
		if err == nil && !known {
			orphans = append(orphans, o.Key)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep orphaned objects: %w", err)
	}
	var errs []error
	for _, key := range orphans {
		if err := s.store.Delete(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	removed := len(orphans) - len(errs)
	if err := s.sweepTemp(cutoff); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// tempSweeper is a store that writes through temporary files of its own
// (local disk).
type tempSweeper interface {
	SweepTemp(cutoff time.Time) (int, error)
}

// sweepTemp removes the temporary files a crash left older than cutoff:
// the store's half-written objects, and uploads spooled in the service's
// own directory (the system's is not the service's to sweep).
func (s *Service) sweepTemp(cutoff time.Time) error {
	var errs []error
	if t, ok := s.store.(tempSweeper); ok {
		if _, err := t.SweepTemp(cutoff); err != nil {
			errs = append(errs, fmt.Errorf("sweep the store's temporary files: %w", err))
		}
	}
	if s.tempDir != "" {
		if _, err := storage.RemoveStale(s.tempDir, cutoff); err != nil {
			errs = append(errs, fmt.Errorf("sweep spooled uploads: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) keyKnown(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT (SELECT COUNT(*) FROM files WHERE storage_key = ? OR thumbnail_key = ?)
		      + (SELECT COUNT(*) FROM file_uploads WHERE storage_key = ?)`, key, key, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up a stored object: %w", err)
	}
	return n > 0, nil
}
