package files

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
)

// inlineTypes are shown in the browser rather than downloaded: only the
// image types this package re-encodes, so what is shown is what it wrote.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true}

// Disposition is the Content-Disposition of f's download: inline for a
// re-encoded image, else attachment, with the display name encoded by
// mime.FormatMediaType (quotes escaped, non-ASCII as RFC 2231), so no name
// can break the header.
func Disposition(f File) string {
	kind := "attachment"
	if Inline(f) {
		kind = "inline"
	}
	if d := mime.FormatMediaType(kind, map[string]string{"filename": f.Name}); d != "" {
		return d
	}
	return kind
}

// Inline reports whether f is shown in the browser: a re-encoded image.
func Inline(f File) bool { return inlineTypes[f.ContentType] }

// Open returns f's contents: a local file's reader also seeks.
func (s *Service) Open(ctx context.Context, f File) (io.ReadCloser, error) {
	rc, _, err := s.store.Open(ctx, f.Key)
	if err != nil {
		return nil, fmt.Errorf("open a stored file: %w", err)
	}
	return rc, nil
}

// Serve answers r with f's contents, inert: the stored type, an
// attachment unless it is a re-encoded image, nosniff, a sandbox that
// gives the document no script and no origin, and no caching outside the
// browser. Local files are streamed as Stream does; an object store's go
// through a redirect to a short-lived signed link carrying the same
// disposition. An error comes before anything is written.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, f File) error {
	link, signed, err := s.SignedDownload(r.Context(), f)
	if err != nil {
		return err
	}
	if signed {
		w.Header().Set("Cache-Control", "private, no-store")
		http.Redirect(w, r, link, http.StatusSeeOther)
		return nil
	}
	return s.Stream(w, r, f)
}

// Stream answers r with f's contents through the application, whatever
// the store, with the headers Serve gives: for what a page shows (a
// thumbnail, an image's preview), which the page's policy loads from its
// own origin only, and a bucket may not be reachable by browsers at all.
// A local file goes through http.ServeContent (ranges, conditional
// requests), an object is copied. An error comes before anything is
// written; one while copying can only be logged.
func (s *Service) Stream(w http.ResponseWriter, r *http.Request, f File) error {
	rc, info, err := s.store.Open(r.Context(), f.Key)
	if err != nil {
		return fmt.Errorf("open a stored file: %w", err)
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", Disposition(f))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.SHA256+`"`)
	if content, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", f.CreatedAt, content)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		s.logger.WarnContext(r.Context(), "stream a stored file", "key", f.Key, "error", err)
	}
	return nil
}

// DownloadExpiry is how long a signed download link works: long enough to
// start the download, too short to be worth passing around.
const DownloadExpiry = time.Minute

// SignedDownload returns a link the browser fetches f from directly, when
// the store is an object store; ok is false for local disk, whose files
// the application serves itself.
func (s *Service) SignedDownload(ctx context.Context, f File) (link string, ok bool, err error) {
	direct, ok := s.store.(storage.Direct)
	if !ok {
		return "", false, nil
	}
	link, err = direct.PresignDownload(ctx, f.Key, f.ContentType, Disposition(f), DownloadExpiry)
	return link, true, err
}
