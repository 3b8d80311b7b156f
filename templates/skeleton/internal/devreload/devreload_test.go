package devreload

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
)

// A look that finds nothing changed reloads nothing; an added, edited or
// removed file reloads once.
func TestCheckReloadsOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.html")
	require.NoError(t, os.WriteFile(path, []byte("a"), 0o644))
	reloads := 0
	w := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func() error { reloads++; return nil }, os.DirFS(dir))

	w.Check()
	assert.Equal(t, 0, reloads, "nothing changed")

	later := time.Now().Add(time.Second)
	require.NoError(t, os.WriteFile(path, []byte("b"), 0o644)) // same size
	require.NoError(t, os.Chtimes(path, later, later))
	w.Check()
	w.Check()
	assert.Equal(t, 1, reloads, "an edit of the same size")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.html"), nil, 0o644))
	w.Check()
	require.NoError(t, os.Remove(path))
	w.Check()
	assert.Equal(t, 3, reloads, "a file added, then one removed")
	generation, problem, _ := w.state()
	assert.Equal(t, int64(3), generation)
	assert.Empty(t, problem)
}

func TestHandlerRefusesABadGeneration(t *testing.T) {
	w := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func() error { return nil }, os.DirFS(t.TempDir()))
	rec := httptest.NewRecorder()
	w.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/reload?since=soon", nil))
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "since must be the page's generation")
}

// BenchmarkReload is the server's share of a development edit: the static
// files and the templates of this project read and parsed again, after
// one template changed.
func BenchmarkReload(b *testing.B) {
	_, _, w, err := Live(slog.New(slog.NewTextHandler(io.Discard, nil)), "Bench", clock.System{}, "../..")
	require.NoError(b, err)
	for b.Loop() {
		require.NoError(b, w.reload())
	}
}
