package web

import (
	"bufio"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/templates/skeleton/internal/config"
	"github.com/quickscale/quickscale/templates/skeleton/internal/database"
)

// sourceCopy copies this project's templates and static files, as on
// disk, into a directory laid out like the project, for SOURCE_DIR.
func sourceCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for i, src := range []string{"../views/templates", "static"} {
		dst := filepath.Join(dir, config.SourceDirs[i])
		require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	}
	return dir
}

// edit rewrites a file of the copy and moves its time on, as a save in an
// editor does.
func edit(t *testing.T, dir, name string, change func(string) string) {
	t.Helper()
	path := filepath.Join(dir, name)
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(change(string(body))), 0o644))
	later := time.Now().Add(time.Second)
	require.NoError(t, os.Chtimes(path, later, later))
}

var stylesheet = regexp.MustCompile(`href="(/static/css/app\.[0-9a-f]+\.css)"`)

// Row 62's development side: with SOURCE_DIR, an edit of a template or a static file shows on the
// next request, the pages from memory included, with no restart; an edit
// that does not parse leaves the version before, and the open pages are
// told why.
func TestSourceDirEditsShowWithoutRestart(t *testing.T) {
	dir := sourceCopy(t)
	a := newApp(t, database.SQLite, options{migrated: true, sourceDir: dir})
	_, body := a.client().get("/")
	require.Contains(t, body, "Launch your product")
	assert.Contains(t, body, `data-generation="0"`, "the page loads the reload script")
	before := stylesheet.FindStringSubmatch(body)
	require.NotNil(t, before, "the stylesheet link")

	edit(t, dir, "internal/views/templates/pages/home.html", func(s string) string {
		return strings.Replace(s, "Launch your product", "Ship your product", 1)
	})
	edit(t, dir, "internal/web/static/css/app.css", func(s string) string { return s + "\n.edited { color: red; }\n" })
	a.reload.Check()
	_, body = a.client().get("/")
	assert.Contains(t, body, "Ship your product", "the home page, from memory, after the edit")
	assert.Contains(t, body, `data-generation="1"`)
	after := stylesheet.FindStringSubmatch(body)
	require.NotNil(t, after, "the stylesheet link")
	assert.NotEqual(t, before[1], after[1], "the edited stylesheet has a new hashed name")
	resp, css := a.client().get(after[1])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, css, ".edited { color: red; }")

	// A page open since generation 1 waits; the broken edit is a problem
	// event naming the file, and the pages keep the version before.
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	stream, err := srv.Client().Get(srv.URL + "/dev/reload?since=1")
	require.NoError(t, err)
	defer stream.Body.Close()
	assert.Equal(t, "text/event-stream", stream.Header.Get("Content-Type"))
	events := bufio.NewScanner(stream.Body)
	next := func() (string, string) {
		var event, data string
		for events.Scan() {
			line := events.Text()
			switch {
			case line == "":
				return event, data
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			}
		}
		return "", ""
	}
	event, _ := next()
	require.Equal(t, "hello", event)

	edit(t, dir, "internal/views/templates/pages/about.html", func(s string) string { return s + "{{if}}" })
	a.reload.Check()
	event, data := next()
	assert.Equal(t, "problem", event)
	assert.Contains(t, data, "about.html")
	_, body = a.client().get("/")
	assert.Contains(t, body, "Ship your product", "the version before is still served")
	assert.Contains(t, body, `data-generation="1"`)

	edit(t, dir, "internal/views/templates/pages/about.html", func(s string) string { return strings.TrimSuffix(s, "{{if}}") })
	a.reload.Check()
	event, data = next()
	assert.Equal(t, "reload", event)
	assert.Equal(t, "2", data)
}

// Row 62: without SOURCE_DIR (and always in production, which refuses
// it), pages load no reload script and /dev/reload is not served.
func TestNoReloadWithoutSourceDir(t *testing.T) {
	a := migratedApp(t, database.SQLite)
	_, body := a.client().get("/")
	assert.NotContains(t, body, "dev-reload")
	resp, _ := a.client().get("/dev/reload?since=0")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	_, err := fs.Stat(os.DirFS("static"), "js/dev-reload.js")
	require.NoError(t, err, "the script exists, so its absence above is the layout's doing")
}
