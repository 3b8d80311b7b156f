package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage/storagetest"
)

// backends returns one store of each kind: the same suite runs on both.
func backends(t *testing.T) map[string]storage.Store {
	t.Helper()
	local := storage.NewLocal(filepath.Join(t.TempDir(), "files"))
	t.Cleanup(func() { local.Close() })
	return map[string]storage.Store{"local": local, "s3": storage.NewS3(storagetest.StartS3(t))}
}

// TestLocalMakesItsDirectoryOnFirstWrite: reading an empty store is
// reading nothing, and leaves no directory behind.
func TestLocalMakesItsDirectoryOnFirstWrite(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "files")
	st := storage.NewLocal(dir)
	defer st.Close()
	_, err := st.Stat(ctx, "u/1/a")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, st.Walk(ctx, "", func(storage.Info) error { return errors.New("an object in an empty store") }))
	require.NoError(t, st.Delete(ctx, "u/1/a"))
	assert.NoDirExists(t, dir)
	require.NoError(t, st.Put(ctx, "u/1/a", strings.NewReader("x"), 1, "text/plain"))
	assert.FileExists(t, filepath.Join(dir, "u", "1", "a"))
}

func TestStoreRoundTrip(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			body := bytes.Repeat([]byte("quickscale "), 10_000)
			require.NoError(t, st.Put(ctx, "u/1/first", bytes.NewReader(body), int64(len(body)), "image/png"))

			info, err := st.Stat(ctx, "u/1/first")
			require.NoError(t, err)
			assert.Equal(t, int64(len(body)), info.Size)
			assert.False(t, info.ModTime.IsZero(), "modification time")
			if name == "s3" {
				assert.Equal(t, "image/png", info.ContentType, "the type the bucket keeps")
			}

			r, info, err := st.Open(ctx, "u/1/first")
			require.NoError(t, err)
			got, err := io.ReadAll(r)
			require.NoError(t, r.Close())
			require.NoError(t, err)
			assert.Equal(t, body, got)
			assert.Equal(t, int64(len(body)), info.Size)
			if name == "local" {
				assert.Implements(t, (*io.ReadSeeker)(nil), r, "local files seek, for http.ServeContent")
			}

			require.NoError(t, st.Put(ctx, "u/1/first", strings.NewReader("new"), 3, "text/plain"), "replace")
			info, err = st.Stat(ctx, "u/1/first")
			require.NoError(t, err)
			assert.Equal(t, int64(3), info.Size)

			require.NoError(t, st.Delete(ctx, "u/1/first"))
			_, err = st.Stat(ctx, "u/1/first")
			assert.ErrorIs(t, err, storage.ErrNotFound)
			_, _, err = st.Open(ctx, "u/1/first")
			assert.ErrorIs(t, err, storage.ErrNotFound)
			assert.NoError(t, st.Delete(ctx, "u/1/first"), "deleting nothing")
		})
	}
}

func TestStorePutReadsExactlySize(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			err := st.Put(ctx, "u/1/short", strings.NewReader("four"), 10, "text/plain")
			require.Error(t, err, "a body shorter than its size")
			_, err = st.Stat(ctx, "u/1/short")
			assert.ErrorIs(t, err, storage.ErrNotFound, "half an object left behind")

			failing := io.MultiReader(strings.NewReader("half"), iotest.ErrReader(errors.New("client went away")))
			require.Error(t, st.Put(ctx, "u/1/broken", failing, 10, "text/plain"))
			_, err = st.Stat(ctx, "u/1/broken")
			assert.ErrorIs(t, err, storage.ErrNotFound, "half an object left behind")

			long := strings.NewReader("exactly five and then some more")
			require.NoError(t, st.Put(ctx, "u/1/long", long, 5, "text/plain"))
			info, err := st.Stat(ctx, "u/1/long")
			require.NoError(t, err)
			assert.Equal(t, int64(5), info.Size, "stored past the size")
		})
	}
}

func TestStoreWalk(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, key := range []string{"u/1/a", "u/1/b", "u/12/c", "t/1/d"} {
				require.NoError(t, st.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"))
			}
			keys := func(prefix string) []string {
				var got []string
				require.NoError(t, st.Walk(ctx, prefix, func(i storage.Info) error {
					assert.Equal(t, int64(1), i.Size, i.Key)
					got = append(got, i.Key)
					return nil
				}))
				slices.Sort(got)
				return got
			}
			assert.Equal(t, []string{"t/1/d", "u/1/a", "u/1/b", "u/12/c"}, keys(""))
			assert.Equal(t, []string{"u/1/a", "u/1/b"}, keys("u/1/"))
			assert.Equal(t, []string{"u/1/a", "u/1/b", "u/12/c"}, keys("u/1"))
			assert.Empty(t, keys("u/3/"))

			stop := errors.New("stop")
			assert.ErrorIs(t, st.Walk(ctx, "", func(storage.Info) error { return stop }), stop)
		})
	}
}

// TestStoreRefusesUnsafeKeys: a key that could name anything outside the
// store's own space (a path escape, an absolute path, a hidden or
// temporary file, CR LF, bytes that are not ASCII) is refused by every
// operation of both backends. Row 69.
func TestStoreRefusesUnsafeKeys(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, key := range []string{"", "../escape", "/etc/passwd", "u//x", "u/../../x", "u/./x", ".tmp/x", "u/.hidden",
				"u/x/", `u\x`, "u/x\r\nSet-Cookie: a=b", "u/x\x00", "u/\xff\xfe", "u/ключ", "u/" + strings.Repeat("a", 300),
				strings.Repeat("a/", 300) + "a"} {
				assert.ErrorIs(t, st.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"), storage.ErrInvalidKey, "Put %q", key)
				_, _, err := st.Open(ctx, key)
				assert.ErrorIs(t, err, storage.ErrInvalidKey, "Open %q", key)
				_, err = st.Stat(ctx, key)
				assert.ErrorIs(t, err, storage.ErrInvalidKey, "Stat %q", key)
				assert.ErrorIs(t, st.Delete(ctx, key), storage.ErrInvalidKey, "Delete %q", key)
			}
			assert.ErrorIs(t, st.Walk(ctx, "../", func(storage.Info) error { return nil }), storage.ErrInvalidKey)
		})
	}
}

// TestLocalStaysInsideItsRoot: a symbolic link planted in the storage
// directory (by another program, or a restored backup) still cannot lead
// a key outside it, and a failed write leaves no temporary file. Row 69.
func TestLocalStaysInsideItsRoot(t *testing.T) {
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "u")))
	st := storage.NewLocal(dir)
	defer st.Close()

	_, _, err := st.Open(ctx, "u/secret")
	assert.Error(t, err, "read through a link out of the root")
	assert.Error(t, st.Put(ctx, "u/planted", strings.NewReader("x"), 1, "text/plain"), "wrote through a link out of the root")
	assert.NoFileExists(t, filepath.Join(outside, "planted"))

	require.Error(t, st.Put(ctx, "v/short", strings.NewReader("x"), 2, "text/plain"))
	temps, err := os.ReadDir(filepath.Join(dir, ".tmp"))
	require.NoError(t, err)
	assert.Empty(t, temps, "temporary files left behind")
}

// TestS3PutIsRetried: a PUT the server fails once (503, after reading the
// body) is sent again by the SDK, which can rewind a seekable body: a
// temporary file stored does not fail on a server's passing error.
func TestS3PutIsRetried(t *testing.T) {
	cfg := storagetest.StartS3(t)
	server, err := url.Parse(cfg.Endpoint)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(server)
	var puts atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && puts.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	cfg.Endpoint = flaky.URL
	st := storage.NewS3(cfg)

	f, err := os.CreateTemp(t.TempDir(), "upload-*")
	require.NoError(t, err)
	defer f.Close()
	body := bytes.Repeat([]byte("quickscale "), 1000)
	_, err = f.Write(body)
	require.NoError(t, err)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, st.Put(ctx, "u/1/retried", f, int64(len(body)), "text/plain"))
	assert.GreaterOrEqual(t, puts.Load(), int32(2), "the PUT was not failed and sent again")
	rc, _, err := st.Open(ctx, "u/1/retried")
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, body, got)
}
