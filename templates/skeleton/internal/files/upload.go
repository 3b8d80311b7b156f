package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// allowedTypes maps what http.DetectContentType reports to the type the
// file is stored and served with. Anything else is refused: the sniffer
// recognises HTML, scripts and archives too, and an allowlist is the only
// safe answer to a list that grows.
var allowedTypes = map[string]string{
	"image/png":                 "image/png",
	"image/jpeg":                "image/jpeg",
	"image/gif":                 "image/gif",
	"image/webp":                "image/webp",
	"application/pdf":           "application/pdf",
	"text/plain; charset=utf-8": "text/plain; charset=utf-8",
}

// AllowedDescription names the allowed types for messages.
const AllowedDescription = "PNG, JPEG, GIF or WebP images, PDF documents or plain text"

// Upload stores what r holds as a new file of the user's. r is read to
// a temporary file (at most MaxUploadBytes, the HTTP layer having bounded
// the request already), its type is sniffed and checked, an image is
// checked against the pixel budget before it is decoded and is then
// re-encoded, and the result is stored; the record is written, and the
// quota charged, once the contents are in place. A *Problem says what the
// user must change; nothing is left behind by a refusal.
func (s *Service) Upload(ctx context.Context, userID, name, folder string, r io.Reader) (File, error) {
	in, err := s.spool(r)
	if err != nil {
		return File{}, err
	}
	defer removeTemp(in)
	if err := s.checkRoom(ctx, userID, fileSize(in)); err != nil {
		return File{}, err
	}
	contentType, err := sniff(in)
	if err != nil {
		return File{}, err
	}
	f := File{ID: rand.Text(), UserID: userID, Key: newKey(userID), Name: CleanName(name), Folder: CleanFolder(folder), ContentType: contentType}
	out := in
	if strings.HasPrefix(contentType, "image/") {
		img, err := s.reencode(ctx, in)
		if err != nil {
			return File{}, err
		}
		defer removeTemp(img.file)
		out, f.ContentType, f.Width, f.Height = img.file, img.contentType, img.width, img.height
	}
	if f.Size, f.SHA256, err = digest(out); err != nil {
		return File{}, err
	}
	if err := s.store.Put(ctx, f.Key, out, f.Size, f.ContentType); err != nil {
		return File{}, fmt.Errorf("store the upload: %w", err)
	}
	if err := s.record(ctx, &f); err != nil {
		if derr := s.store.Delete(context.WithoutCancel(ctx), f.Key); derr != nil {
			s.logger.Warn("remove the contents of an upload that was not recorded", "key", f.Key, "error", derr)
		}
		return File{}, err
	}
	return f, nil
}

// TooLarge answers a file over the size limit.
func (s *Service) TooLarge() *Problem {
	return &Problem{Status: http.StatusRequestEntityTooLarge, Code: "file_too_large",
		Message: fmt.Sprintf("the file is larger than %s, the most one upload may be: upload a smaller file", FormatBytes(s.limits.MaxUploadBytes))}
}

// spool copies r to a temporary file, refusing it past the size limit.
func (s *Service) spool(r io.Reader) (*os.File, error) {
	if s.tempDir != "" {
		if err := os.MkdirAll(s.tempDir, 0o700); err != nil {
			return nil, fmt.Errorf("create the directory uploads are spooled in: %w", err)
		}
	}
	tmp, err := os.CreateTemp(s.tempDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create a temporary file for an upload: %w", err)
	}
	n, err := io.Copy(tmp, io.LimitReader(r, s.limits.MaxUploadBytes+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || n > s.limits.MaxUploadBytes:
		err = s.TooLarge()
	case err != nil:
		err = &Problem{Status: http.StatusBadRequest, Code: "incomplete_upload", Message: "the upload was cut off before the end: try again"}
	case n == 0:
		err = &Problem{Status: http.StatusBadRequest, Code: "empty_file", Message: "the file is empty: choose a file with something in it"}
	}
	if err != nil {
		removeTemp(tmp)
		return nil, err
	}
	return tmp, nil
}

func removeTemp(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

func fileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// sniff reads the start of f and returns the allowed type it is.
func sniff(f *os.File) (string, error) {
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read an upload: %w", err)
	}
	detected := http.DetectContentType(head[:n])
	if t, ok := allowedTypes[detected]; ok {
		return t, nil
	}
	return "", &Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_type",
		Message: fmt.Sprintf("files of this type (%s) cannot be uploaded: upload %s", detected, AllowedDescription)}
}

// digest returns f's size and SHA-256, and leaves f at its start.
func digest(f *os.File) (int64, string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read an upload: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// checkRoom refuses early an upload the quota cannot take; record checks
// again, atomically, with the final size.
func (s *Service) checkRoom(ctx context.Context, userID string, size int64) error {
	used, err := s.Used(ctx, userID)
	if err != nil {
		return err
	}
	if used+size > s.limits.QuotaBytes {
		return quotaProblem(size, used, s.limits.QuotaBytes)
	}
	return nil
}

// record charges the quota and writes the file's row in one transaction:
// the guarded UPDATE holds the quota under concurrent uploads.
func (s *Service) record(ctx context.Context, f *File) error {
	f.CreatedAt = s.clock.Now().UTC()
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO file_usage (user_id, bytes) VALUES (?, 0) ON CONFLICT (user_id) DO NOTHING", f.UserID); err != nil {
			return fmt.Errorf("record storage used: %w", err)
		}
		r, err := tx.ExecContext(ctx, "UPDATE file_usage SET bytes = bytes + ? WHERE user_id = ? AND bytes + ? <= ?",
			f.Size, f.UserID, f.Size, s.limits.QuotaBytes)
		if err != nil {
			return fmt.Errorf("record storage used: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			var used int64
			if err := tx.QueryRowContext(ctx, "SELECT bytes FROM file_usage WHERE user_id = ?", f.UserID).Scan(&used); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read storage used: %w", err)
			}
			return quotaProblem(f.Size, used, s.limits.QuotaBytes)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO files (id, user_id, storage_key, name, folder, size, content_type, sha256, width, height, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.UserID, f.Key, f.Name, f.Folder, f.Size, f.ContentType, f.SHA256, f.Width, f.Height, f.CreatedAt)
		if err != nil {
			return fmt.Errorf("record the file: %w", err)
		}
		return s.queueThumbnail(ctx, tx, f)
	})
}
