package files

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
)

// UploadExpiry is how long a signed upload form works.
const UploadExpiry = 15 * time.Minute

// DirectUpload is a form a client posts the file with straight to the
// object store, and the id that completes it.
type DirectUpload struct {
	ID string
	storage.Upload
	ExpiresAt time.Time
}

// ErrNoDirectUploads is the answer on a store the client cannot reach
// (local disk): upload through the application instead.
var ErrNoDirectUploads = &Problem{Status: http.StatusConflict, Code: "direct_uploads_unavailable",
	Message: "this site keeps files on its own disk: upload through POST /api/v1/files instead"}

// BeginUpload signs a form that can store one object, under a key the
// server chose, of contentType (one of the allowed types) and at most the
// upload limit, and remembers what it allowed.
func (s *Service) BeginUpload(ctx context.Context, userID, name, folder, contentType string) (DirectUpload, error) {
	direct, ok := s.store.(storage.Direct)
	if !ok {
		return DirectUpload{}, ErrNoDirectUploads
	}
	if _, ok := allowedTypes[contentType]; !ok {
		return DirectUpload{}, &Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_type",
			Message: fmt.Sprintf("files of this type (%q) cannot be uploaded: upload %s", contentType, AllowedDescription)}
	}
	now := s.clock.Now().UTC()
	u := DirectUpload{ID: rand.Text(), ExpiresAt: now.Add(UploadExpiry)}
	key := newKey(userID)
	signed, err := direct.PresignUpload(ctx, key, contentType, s.limits.MaxUploadBytes, UploadExpiry)
	if err != nil {
		return DirectUpload{}, err
	}
	u.Upload = signed
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO file_uploads (id, user_id, storage_key, name, folder, content_type, max_size, created_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, userID, key, CleanName(name), CleanFolder(folder), contentType, s.limits.MaxUploadBytes, now, u.ExpiresAt)
	if err != nil {
		return DirectUpload{}, fmt.Errorf("record a signed upload: %w", err)
	}
	return u, nil
}

// CompleteUpload makes a file of what the client posted for the upload
// id: the object is looked at first (HEAD: it must be there, within the
// limit, of the type signed for), then read through every check of
// Upload and stored anew; the posted object and the upload's row are
// removed. Another user's id is ErrNotFound.
func (s *Service) CompleteUpload(ctx context.Context, userID, id string) (File, error) {
	var key, name, folder, contentType string
	var maxSize int64
	err := s.db.QueryRowContext(ctx, "SELECT storage_key, name, folder, content_type, max_size FROM file_uploads WHERE id = ? AND user_id = ?",
		id, userID).Scan(&key, &name, &folder, &contentType, &maxSize)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("read a signed upload: %w", err)
	}
	info, err := s.store.Stat(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return File{}, &Problem{Status: http.StatusConflict, Code: "not_uploaded", Message: "nothing was uploaded with this form yet: post the file to its URL first"}
	case err != nil:
		return File{}, err
	case info.Size > maxSize || info.ContentType != contentType:
		s.discardUpload(ctx, id, key)
		return File{}, &Problem{Status: http.StatusUnprocessableEntity, Code: "upload_mismatch", Message: "the uploaded object is not what was signed for: begin a new upload"}
	}
	rc, _, err := s.store.Open(ctx, key)
	if err != nil {
		return File{}, err
	}
	f, err := s.Upload(ctx, userID, name, folder, rc)
	rc.Close()
	var problem *Problem
	if err == nil || errors.As(err, &problem) {
		s.discardUpload(ctx, id, key)
	}
	return f, err
}

// discardUpload removes a signed upload's object and row; what fails
// here the orphan sweep removes later.
func (s *Service) discardUpload(ctx context.Context, id, key string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.store.Delete(ctx, key); err != nil {
		s.logger.Warn("remove an uploaded object", "key", key, "error", err)
		return
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM file_uploads WHERE id = ?", id); err != nil {
		s.logger.Warn("remove a signed upload", "id", id, "error", err)
	}
}
