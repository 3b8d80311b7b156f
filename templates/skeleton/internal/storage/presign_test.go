package storage_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/storage"
	"github.com/quickscale/quickscale/templates/skeleton/internal/storage/storagetest"
)

// TestPresignedUploadPolicy proves, against a server that checks POST
// policies, that a signed form stores exactly what the server allowed and
// that an upload breaking any condition (size, type, key, signature) is
// refused by the storage server itself. Row 72.
func TestPresignedUploadPolicy(t *testing.T) {
	ctx := context.Background()
	st := storage.NewS3(storagetest.StartS3(t))
	const key, maxSize = "u/1/upload", 64
	up, err := st.PresignUpload(ctx, key, "image/png", maxSize, 5*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, key, up.Fields["key"])
	assert.Equal(t, "image/png", up.Fields["Content-Type"])

	with := func(k, v string) map[string]string {
		f := maps.Clone(up.Fields)
		f[k] = v
		return f
	}
	notStored := func(key string) {
		t.Helper()
		_, err := st.Stat(ctx, key)
		assert.ErrorIs(t, err, storage.ErrNotFound, "%s was stored", key)
	}

	status, body := storagetest.Post(t, up.URL, up.Fields, bytes.Repeat([]byte("x"), maxSize+1))
	assert.Equal(t, http.StatusBadRequest, status, "over the size range: %s", body)
	assert.Contains(t, body, "EntityTooLarge")
	notStored(key)

	status, body = storagetest.Post(t, up.URL, with("Content-Type", "text/html"), []byte("<script>alert(1)</script>"))
	assert.Equal(t, http.StatusForbidden, status, "another content type: %s", body)
	notStored(key)

	status, body = storagetest.Post(t, up.URL, with("key", "u/2/upload"), []byte("png"))
	assert.Equal(t, http.StatusForbidden, status, "another key: %s", body)
	notStored("u/2/upload")

	status, body = storagetest.Post(t, up.URL, with("X-Amz-Signature", strings.Repeat("0", 64)), []byte("png"))
	assert.Equal(t, http.StatusForbidden, status, "a forged signature: %s", body)
	notStored(key)

	status, body = storagetest.Post(t, up.URL, up.Fields, []byte("a small png"))
	require.Contains(t, []int{http.StatusOK, http.StatusNoContent, http.StatusCreated}, status, "the upload as signed: %s", body)
	info, err := st.Stat(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, int64(len("a small png")), info.Size)
	assert.Equal(t, "image/png", info.ContentType)
}

// TestPresignedDownload: the signed URL serves the object with the type,
// disposition and private caching it was signed with, whatever the
// object's own metadata says; altered, it is refused. Row 70.
func TestPresignedDownload(t *testing.T) {
	ctx := context.Background()
	st := storage.NewS3(storagetest.StartS3(t))
	require.NoError(t, st.Put(ctx, "u/1/report", strings.NewReader("contents"), 8, "text/html"))
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": `a "quoted" name.pdf`})
	signed, err := st.PresignDownload(ctx, "u/1/report", "application/pdf", disposition, time.Minute)
	require.NoError(t, err)

	resp, err := http.Get(signed)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "contents", string(body))
	assert.Equal(t, disposition, resp.Header.Get("Content-Disposition"))
	assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))

	u, err := url.Parse(signed)
	require.NoError(t, err)
	for name, alter := range map[string]func(q url.Values){
		"disposition": func(q url.Values) { q.Set("response-content-disposition", "inline") },
		"type":        func(q url.Values) { q.Set("response-content-type", "text/html") },
		"expiry":      func(q url.Values) { q.Set("X-Amz-Expires", "604800") },
		"signature":   func(q url.Values) { q.Set("X-Amz-Signature", strings.Repeat("0", 64)) },
	} {
		q := u.Query()
		alter(q)
		altered := *u
		altered.RawQuery = q.Encode()
		resp, err := http.Get(altered.String())
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "altered %s", name)
	}
	other := *u
	other.Path = strings.Replace(u.Path, "/u/1/report", "/u/2/report", 1)
	resp, err = http.Get(other.String())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "another key under the same signature")
}
