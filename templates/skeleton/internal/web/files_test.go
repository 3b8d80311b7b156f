package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database/dbtest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files/filestest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/jobs"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage/storagetest"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/api"
)

// testMaxUpload is small, so that the size limit is cheap to cross.
const testMaxUpload = 64 << 10

// testFiles keeps files on local disk in the test's directory.
func testFiles(t testing.TB, db *database.DB, logger *slog.Logger, clk clock.Clock, q *jobs.Queue) *files.Service {
	t.Helper()
	fs, _, _ := filesOn(t, db, logger, clk, q)
	return fs
}

func filesOn(t testing.TB, db *database.DB, logger *slog.Logger, clk clock.Clock, q *jobs.Queue) (*files.Service, storage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	store := storage.NewLocal(filepath.Join(dir, "files"))
	t.Cleanup(func() { store.Close() })
	return filesIn(t, db, logger, clk, q, store)
}

// filesIn is the files service on store, with a temporary directory of
// its own.
func filesIn(t testing.TB, db *database.DB, logger *slog.Logger, clk clock.Clock, q *jobs.Queue, store storage.Store) (*files.Service, storage.Store, string) {
	t.Helper()
	temp := filepath.Join(t.TempDir(), "tmp")
	require.NoError(t, os.Mkdir(temp, 0o700))
	fs := files.New(files.Options{DB: db, Store: store, Jobs: q, Clock: clk, Logger: logger, TempDir: temp,
		Limits: files.Limits{MaxUploadBytes: testMaxUpload, QuotaBytes: 1 << 20}})
	fs.RegisterJobs(q)
	return fs, store, temp
}

// filesRig is the app with its files service's store and temporary
// directory in reach.
type filesRig struct {
	*app
	store storage.Store
	temp  string
}

func newFilesRig(t *testing.T, dialect database.Dialect) *filesRig {
	t.Helper()
	a := httpsApp(t, dialect)
	fs, store, temp := filesOn(t, a.db, a.deps.Logger, a.clock, a.jobs)
	return filesRigWith(t, a, fs, store, temp)
}

// newFilesRigOn is the app with its files on store.
func newFilesRigOn(t *testing.T, dialect database.Dialect, store storage.Store) *filesRig {
	t.Helper()
	a := httpsApp(t, dialect)
	fs, store, temp := filesIn(t, a.db, a.deps.Logger, a.clock, a.jobs, store)
	return filesRigWith(t, a, fs, store, temp)
}

func filesRigWith(t *testing.T, a *app, fs *files.Service, store storage.Store, temp string) *filesRig {
	t.Helper()
	a.deps.Files = fs
	h, err := NewServer(a.deps)
	require.NoError(t, err)
	a.handler = h
	return &filesRig{app: a, store: store, temp: temp}
}

// nothingLeft: a refused upload left no temporary file, object or record.
func (r *filesRig) nothingLeft(t *testing.T) {
	t.Helper()
	temps, err := os.ReadDir(r.temp)
	require.NoError(t, err)
	assert.Empty(t, temps, "temporary files left")
	require.NoError(t, r.store.Walk(context.Background(), "", func(i storage.Info) error {
		t.Errorf("object %s left", i.Key)
		return nil
	}))
	var n int
	require.NoError(t, r.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM files").Scan(&n))
	assert.Zero(t, n, "file records left")
}

// uploadRequest is the upload form as a browser sends it.
func uploadRequest(t testing.TB, folder, name string, content []byte) *http.Request {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	require.NoError(t, w.WriteField("folder", folder))
	fw, err := w.CreateFormFile("file", name)
	require.NoError(t, err)
	_, err = fw.Write(content)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	r := httptest.NewRequest(http.MethodPost, "/files", &body)
	r.Header.Set("Content-Type", w.FormDataContentType())
	r.Header.Set("Origin", "https://example.com")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

func testPNG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 6))))
	return b.Bytes()
}

// uploaded uploads through the form, checks the files page links to the
// new file, and returns its id.
func uploaded(t *testing.T, c *client, name string, content []byte) string {
	t.Helper()
	resp, _ := c.do(uploadRequest(t, "", name, content))
	wantRedirect(t, resp, http.StatusSeeOther, "/files?uploaded=")
	// The form turns CR LF in a name into %0D%0A, as browsers do.
	stored := files.CleanName(strings.ReplaceAll(name, "\r\n", "%0D%0A"))
	var id string
	require.NoError(t, c.app.db.QueryRowContext(context.Background(), "SELECT id FROM files WHERE name = ?", stored).Scan(&id))
	_, body := c.get(resp.Header.Get("Location"))
	require.Contains(t, body, `class="notification is-success is-light file-uploaded"`, "the upload is not announced")
	require.Contains(t, body, `href="/files/`+id+`/download"`, "the files page does not link to the upload")
	return id
}

// TestFileUploadAndDownload: the form (as sent without JavaScript) stores
// a file; its owner downloads it inert; anyone else gets 404. Rows 69 and
// 70.
func TestFileUploadAndDownload(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			owner := signUp(t, r.app, "owner@example.com", "Owner")
			hostile := "re\"port\r\nX-Injected: yes; \xff.txt"
			id := uploaded(t, owner, hostile, []byte("plain words, nothing more\n"))

			resp, body := owner.get("/files/" + id + "/download")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, "plain words, nothing more\n", body)
			h := resp.Header
			assert.Equal(t, "text/plain; charset=utf-8", h.Get("Content-Type"))
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "private, no-store", h.Get("Cache-Control"))
			assert.True(t, strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox"), h.Get("Content-Security-Policy"))
			assert.Empty(t, h.Get("X-Injected"), "a header injected through the name")
			kind, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
			require.NoError(t, err, "Content-Disposition %q", h.Get("Content-Disposition"))
			assert.Equal(t, "attachment", kind)
			assert.Equal(t, "re\"port%0D%0AX-Injected: yes; \uFFFD.txt", params["filename"], "browsers send CR LF as %0D%0A")

			ranged := get("/files/" + id + "/download")
			ranged.Header.Set("Range", "bytes=0-4")
			resp, body = owner.do(ranged)
			assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
			assert.Equal(t, "plain", body)

			img := uploaded(t, owner, "photo.png", testPNG(t))
			resp, _ = owner.get("/files/" + img + "/download")
			assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline"), "a re-encoded image is shown")

			other := signUp(t, r.app, "other@example.com", "Other")
			resp, _ = other.get("/files/" + id + "/download")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user's file")
			resp, _ = other.post("/files/"+id+"/delete", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user deletes")
			resp, _ = owner.get("/files/NOSUCHFILEAAAAAAAAAAAAAAAA/download")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "an unknown id")
			resp, _ = r.app.client().get("/files/" + id + "/download")
			wantRedirect(t, resp, http.StatusSeeOther, "/login")
		})
	}
}

// TestFileUploadRefusals: over the size limit (413), a type off the
// allowlist (415), a PNG that hides HTML (stored clean), SVG with script
// (refused: it sniffs as XML or, with no declaration, is served as a
// plain text attachment); nothing is left of a refusal. Rows 66, 67 and
// 70.
func TestFileUploadRefusals(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			c := signUp(t, r.app, "owner@example.com", "Owner")
			resp, body := c.do(uploadRequest(t, "", "big.txt", bytes.Repeat([]byte("a"), testMaxUpload+multipartOverhead+1)))
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			assert.Contains(t, body, "the most one upload may be")
			resp, _ = c.do(uploadRequest(t, "", "big.txt", bytes.Repeat([]byte("a"), testMaxUpload+1)))
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "over the limit, within the form's overhead")
			resp, body = c.do(uploadRequest(t, "", "page.html", []byte("<!doctype html><script>alert(1)</script>")))
			assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
			assert.Contains(t, body, "cannot be uploaded")
			resp, _ = c.do(uploadRequest(t, "", "x.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)))
			assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "SVG")
			r.nothingLeft(t)

			id := uploaded(t, c, "bare.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`))
			resp, _ = c.get("/files/" + id + "/download")
			assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"), "an SVG without declaration is text")
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment"))

			polyglot := append(testPNG(t), []byte("<html><script>alert(1)</script></html>")...)
			id = uploaded(t, c, "poly.png", polyglot)
			_, body = c.get("/files/" + id + "/download")
			assert.NotContains(t, body, "<script>", "the HTML behind the PNG is served")
		})
	}
}

// TestFileDeleteAndUndo: a deleted file leaves the list at once, and the
// page offers to restore it within the undo window.
func TestFileDeleteAndUndo(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			c := signUp(t, r.app, "owner@example.com", "Owner")
			id := uploaded(t, c, "keep.txt", []byte("keep me"))
			resp, _ := c.post("/files/"+id+"/delete", nil)
			wantRedirect(t, resp, http.StatusSeeOther, "/files?deleted="+id)
			_, body := c.get(resp.Header.Get("Location"))
			assert.Contains(t, body, "/files/"+id+"/restore", "no undo offered")
			assert.NotContains(t, body, "/files/"+id+"/download", "a deleted file listed")
			resp, _ = c.get("/files/" + id + "/download")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)

			resp, _ = c.post("/files/"+id+"/restore", nil)
			wantRedirect(t, resp, http.StatusSeeOther, "/files")
			resp, _ = c.get("/files/" + id + "/download")
			assert.Equal(t, http.StatusOK, resp.StatusCode, "restored")

			resp, _ = c.post("/files/"+id+"/delete", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			r.clock.Advance(files.UndoWindow + time.Second)
			resp, body = c.post("/files/"+id+"/restore", nil)
			assert.Equal(t, http.StatusConflict, resp.StatusCode)
			assert.Contains(t, body, "can no longer be restored")
		})
	}
}

var shareLinkPattern = regexp.MustCompile(`<code class="share-link">https://example.com(/s/[A-Za-z0-9_-]{43})</code>`)

// TestShareLinks: a link opens the file to anyone, logged out too, served
// as inert as a download; an altered, expired or revoked link is 403, and
// only the owner can make or revoke links. Row 71.
func TestShareLinks(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			owner := signUp(t, r.app, "owner@example.com", "Owner")
			id := uploaded(t, owner, "notes.txt", []byte("shared words"))
			other := signUp(t, r.app, "other@example.com", "Other")
			resp, _ := other.post("/files/"+id+"/shares", url.Values{"days": {"7"}})
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user shares the file")
			resp, body := owner.post("/files/"+id+"/shares", url.Values{"days": {"99"}})
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			assert.Contains(t, body, "1 to 30 days")

			share := func(days string) string {
				t.Helper()
				resp, body := owner.post("/files/"+id+"/shares", url.Values{"days": {days}})
				require.Equal(t, http.StatusCreated, resp.StatusCode, body)
				assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "the page with the link")
				m := shareLinkPattern.FindStringSubmatch(body)
				require.NotNil(t, m, "no link shown")
				return m[1]
			}
			link := share("1")
			anonymous := r.app.client()
			resp, body = anonymous.get(link)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, "shared words", body)
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment"))
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "sandbox"))

			tampered := link[:len(link)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(link, "A")]
			resp, _ = anonymous.get(tampered)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an altered link")
			resp, _ = anonymous.get("/s/" + strings.Repeat("A", 43))
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a made-up link")

			r.clock.Advance(25 * time.Hour)
			resp, _ = anonymous.get(link)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an expired link")
			// The sessions have lapsed meanwhile.
			login(t, owner, "owner@example.com", goodPassword)
			login(t, other, "other@example.com", goodPassword)

			link = share("7")
			resp, _ = anonymous.get(link)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			shares, err := r.deps.Files.Shares(context.Background(), r.userID(t, "owner@example.com"), id)
			require.NoError(t, err)
			require.Len(t, shares, 2)
			resp, _ = other.post("/files/"+id+"/shares/"+shares[0].ID+"/revoke", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user revokes")
			resp, _ = owner.post("/files/"+id+"/shares/"+shares[0].ID+"/revoke", nil)
			wantRedirect(t, resp, http.StatusSeeOther, "/files/"+id)
			resp, _ = anonymous.get(link)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a revoked link")

			link = share("7")
			resp, _ = owner.post("/files/"+id+"/delete", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			resp, _ = anonymous.get(link)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a link to a deleted file")
		})
	}
}

// userID is the id of the account with the address.
func (r *filesRig) userID(t *testing.T, email string) string {
	t.Helper()
	var id string
	require.NoError(t, r.db.QueryRowContext(context.Background(), "SELECT id FROM users WHERE email = ?", email).Scan(&id))
	return id
}

// testStores are local disk and an S3 bucket, named.
func testStores(t *testing.T) map[string]storage.Store {
	t.Helper()
	local := storage.NewLocal(t.TempDir())
	t.Cleanup(func() { local.Close() })
	return map[string]storage.Store{"local": local, "s3": storage.NewS3(storagetest.StartS3(t))}
}

// TestFileThumbnails: once the job has run, the browser shows an image's
// thumbnail, and the file page its preview, served through the app on
// either store (the page's policy loads images from its own origin only)
// as inert as the file, to its owner only. Row 70.
func TestFileThumbnails(t *testing.T) {
	for name, store := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			r := newFilesRigOn(t, database.SQLite, store)
			c := signUp(t, r.app, "owner@example.com", "Owner")
			id := uploaded(t, c, "photo.png", testPNG(t))
			resp, _ := c.get("/files/" + id + "/thumbnail")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "before the job")
			r.runDueJobs(t)
			_, body := c.get("/files?view=grid")
			assert.Contains(t, body, `src="/files/`+id+`/thumbnail"`)
			_, body = c.get("/files/" + id)
			assert.Contains(t, body, `src="/files/`+id+`/preview"`)
			for _, path := range []string{"/files/" + id + "/thumbnail", "/files/" + id + "/preview"} {
				resp, body = c.get(path)
				require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path)
				assert.Equal(t, "image/png", resp.Header.Get("Content-Type"), path)
				assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
				assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"), path)
				assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "sandbox"), path)
				_, err := png.Decode(strings.NewReader(body))
				assert.NoError(t, err, "GET %s is not the image", path)
			}
			other := signUp(t, r.app, "other@example.com", "Other")
			resp, _ = other.get("/files/" + id + "/thumbnail")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			resp, _ = other.get("/files/" + id + "/preview")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			text := uploaded(t, c, "notes.txt", []byte("words"))
			resp, _ = c.get("/files/" + text + "/preview")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a file not shown inline has no preview")
		})
	}
}

// TestFilesAPI: with an API key, a program lists, uploads (with every
// check of the form, answered with stable codes), downloads and deletes
// its own files, and no one else's. Rows 66, 67, 68 and 70.
func TestFilesAPI(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			_, token := apiClientFor(t, r.app, "api@example.com")
			_, otherToken := apiClientFor(t, r.app, "other-api@example.com")
			upload := func(token, name string, body []byte) (*http.Response, string) {
				req := httptest.NewRequest(http.MethodPost, "/api/v1/files?name="+url.QueryEscape(name)+"&folder=Reports", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/octet-stream")
				return r.app.do(req)
			}
			resp, body := upload(token, "notes.txt", []byte("from a program"))
			require.Equal(t, http.StatusCreated, resp.StatusCode, body)
			var f api.FileBody
			require.NoError(t, json.Unmarshal([]byte(body), &f))
			assert.Equal(t, "notes.txt", f.Name)
			assert.Equal(t, "Reports", f.Folder)
			assert.Equal(t, "text/plain; charset=utf-8", f.ContentType)
			assert.Equal(t, int64(len("from a program")), f.Size)

			for name, tc := range map[string]struct {
				body   []byte
				status int
				code   string
			}{
				"page.html": {[]byte("<!doctype html><script>alert(1)</script>"), http.StatusUnsupportedMediaType, "unsupported_type"},
				"big.txt":   {bytes.Repeat([]byte("a"), testMaxUpload+1), http.StatusRequestEntityTooLarge, "file_too_large"},
				"empty.txt": {nil, http.StatusBadRequest, "empty_file"},
				"bomb.png":  {filestest.BombPNG(50_000, 50_000), http.StatusUnprocessableEntity, "image_too_large"},
			} {
				resp, body := upload(token, name, tc.body)
				assert.Equal(t, tc.status, resp.StatusCode, "%s: %s", name, body)
				var e apiErr
				require.NoError(t, json.Unmarshal([]byte(body), &e), body)
				assert.Equal(t, tc.code, e.Error.Code, name)
			}

			var list struct {
				Files []api.FileBody `json:"files"`
				Total int            `json:"total"`
			}
			r.app.call(t, http.MethodGet, "/api/v1/files?folder=Reports", token, "", "", &list)
			require.Equal(t, 1, list.Total)
			assert.Equal(t, f.ID, list.Files[0].ID)
			r.app.call(t, http.MethodGet, "/api/v1/files", otherToken, "", "", &list)
			assert.Zero(t, list.Total, "another user's files listed")

			get := httptest.NewRequest(http.MethodGet, "/api/v1/files/"+f.ID+"/content", nil)
			get.Header.Set("Authorization", "Bearer "+token)
			resp, body = r.app.do(get)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "from a program", body)
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment"))
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

			resp = r.app.call(t, http.MethodGet, "/api/v1/files/"+f.ID+"/content", otherToken, "", "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user's file")
			resp = r.app.call(t, http.MethodDelete, "/api/v1/files/"+f.ID, otherToken, "", "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user deletes")

			del := httptest.NewRequest(http.MethodDelete, "/api/v1/files/"+f.ID, nil)
			del.Header.Set("Authorization", "Bearer "+token)
			resp, _ = r.app.do(del)
			assert.Equal(t, http.StatusNoContent, resp.StatusCode)
			resp = r.app.call(t, http.MethodGet, "/api/v1/files/"+f.ID+"/content", token, "", "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a deleted file")
		})
	}
}

// TestFileRenameAndMove: the owner renames and moves a file (the name
// cleaned as an upload's); another user cannot. The browser then filters
// and sorts by them.
func TestFileRenameAndMove(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			c := signUp(t, r.app, "owner@example.com", "Owner")
			a := uploaded(t, c, "a.txt", []byte("first"))
			_, body := c.get("/dashboard")
			assert.Contains(t, body, "5 B of 1.0 MB used", "storage on the dashboard")
			uploaded(t, c, "b.txt", []byte("second, longer"))
			resp, _ := c.post("/files/"+a+"/rename", url.Values{"name": {"../zz\r\n.txt"}})
			wantRedirect(t, resp, http.StatusSeeOther, "/files/"+a)
			resp, _ = c.post("/files/"+a+"/move", url.Values{"folder": {"Archive"}})
			wantRedirect(t, resp, http.StatusSeeOther, "/files/"+a)
			other := signUp(t, r.app, "other@example.com", "Other")
			resp, _ = other.post("/files/"+a+"/rename", url.Values{"name": {"mine.txt"}})
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user renames")
			resp, _ = other.post("/files/"+a+"/move", url.Values{"folder": {"Mine"}})
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "another user moves")

			_, body = c.get("/files?folder=Archive")
			assert.Contains(t, body, "zz.txt")
			assert.NotContains(t, body, "b.txt", "filtered by folder")
			_, body = c.get("/files?sort=name")
			assert.Less(t, strings.Index(body, "b.txt"), strings.Index(body, "zz.txt"), "sorted by name")
			_, body = c.get("/files?sort=size&order=reverse")
			assert.Less(t, strings.Index(body, "b.txt"), strings.Index(body, "zz.txt"), "largest first, reversed")
			_, body = c.get("/files?q=ZZ")
			assert.Contains(t, body, "zz.txt")
			assert.NotContains(t, body, "b.txt", "searched by name")
		})
	}
}

// TestAdminSeesFileDetailsAndDeletes: an administrator lists a user's
// files (names and sizes, never a way to the contents) and deletes one,
// in the audit log; the owner no longer sees it. Row 70.
func TestAdminSeesFileDetailsAndDeletes(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			r := newFilesRig(t, dialect)
			owner := signUp(t, r.app, "owner@example.com", "Owner")
			id := uploaded(t, owner, "report.txt", []byte("quarterly figures"))
			ownerID := r.userID(t, "owner@example.com")
			admin := makeAdmin(t, r.app, "boss@example.com")

			resp, body := admin.get("/admin/users/" + ownerID + "/files")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Contains(t, body, "report.txt")
			assert.Contains(t, body, "17 B")
			assert.NotContains(t, body, "/files/"+id+"/download", "a way to the contents")
			resp, _ = admin.get("/files/" + id + "/download")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "an admin downloads a user's file")

			resp, _ = admin.post("/admin/users/"+ownerID+"/files/"+id+"/delete", nil)
			wantRedirect(t, resp, http.StatusSeeOther, "/admin/users/"+ownerID+"/files")
			resp, _ = owner.get("/files/" + id + "/download")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "deleted")
			entries, err := r.acct.Audit.Recent(context.Background(), ownerID, 10)
			require.NoError(t, err)
			require.NotEmpty(t, entries)
			assert.Equal(t, "file.deleted", entries[0].Action)
			assert.Equal(t, "report.txt", entries[0].Detail)
			resp, _ = admin.post("/admin/users/"+ownerID+"/files/"+id+"/delete", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "deleted twice")
		})
	}
}

// TestDirectUploadAPI: on S3 a program asks for a signed form, posts the
// file to the bucket itself, and completes the upload; on local disk the
// API says to upload through it instead. Row 72.
func TestDirectUploadAPI(t *testing.T) {
	r := newFilesRig(t, database.SQLite)
	_, token := apiClientFor(t, r.app, "api@example.com")
	var refused apiErr
	resp := r.app.call(t, http.MethodPost, "/api/v1/uploads", token, "", `{"name": "a.png", "content_type": "image/png"}`, &refused)
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Equal(t, "direct_uploads_unavailable", refused.Error.Code)

	s3 := storage.NewS3(storagetest.StartS3(t))
	r.deps.Files = files.New(files.Options{DB: r.db, Store: s3, Jobs: r.jobs, Clock: r.clock, Logger: r.deps.Logger,
		TempDir: r.temp, Limits: files.Limits{MaxUploadBytes: testMaxUpload, QuotaBytes: 1 << 20}})
	h, err := NewServer(r.deps)
	require.NoError(t, err)
	r.handler = h

	var up api.UploadBody
	resp = r.app.call(t, http.MethodPost, "/api/v1/uploads", token, "", `{"name": "notes.txt", "folder": "S3", "content_type": "text/plain; charset=utf-8"}`, &up)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	status, body := storagetest.Post(t, up.URL, up.Fields, []byte("straight to the bucket"))
	require.Less(t, status, 300, body)
	var f api.FileBody
	resp = r.app.call(t, http.MethodPost, "/api/v1/uploads/"+up.ID+"/complete", token, "", "", &f)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "notes.txt", f.Name)
	assert.Equal(t, int64(len("straight to the bucket")), f.Size)

	resp = r.app.call(t, http.MethodPost, "/api/v1/uploads/"+up.ID+"/complete", token, "", "", &refused)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "completed twice")
	resp = r.app.call(t, http.MethodPost, "/api/v1/uploads", token, "", `{"name": "x.html", "content_type": "text/html"}`, &refused)
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	assert.Equal(t, "unsupported_type", refused.Error.Code)

	get := httptest.NewRequest(http.MethodGet, "/api/v1/files/"+f.ID+"/content", nil)
	get.Header.Set("Authorization", "Bearer "+token)
	resp, _ = r.app.do(get)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "on S3 a signed link")
	signed, err := http.Get(resp.Header.Get("Location"))
	require.NoError(t, err)
	content, _ := io.ReadAll(signed.Body)
	signed.Body.Close()
	assert.Equal(t, "straight to the bucket", string(content))
	assert.True(t, strings.HasPrefix(signed.Header.Get("Content-Disposition"), "attachment"))
}
