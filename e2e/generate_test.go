package e2e

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/generator"
	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/project"
)

// TestGeneratedProjects generates a project for each database preset, with
// no terminal, checks that it is the skeleton with its module path, name and
// stamps rewritten (nothing lost or changed in the packing and the copy),
// and holds it to the bar quickscale's own code meets: gofmt, vet, a tidy
// go.mod, staticcheck and govulncheck. The skeleton's suites run in place
// on both databases with the race detector (make test); the Go code is the
// same for both presets, so the sqlite project alone runs its own full
// suite again as a user would, then is built, served and probed, by this
// test and by the project's own e2e suite.
//
// The presets run one after the other: in sequence the second reuses the
// build cache the first filled.
func TestGeneratedProjects(t *testing.T) {
	staticcheck := toolPath(t, "staticcheck")
	govulncheck := toolPath(t, "govulncheck")
	db := vulnDB(t)
	gofmt := toolchainGofmt(t)

	for _, preset := range []string{"sqlite", "postgres"} {
		t.Run(preset, func(t *testing.T) {
			dir := initProject(t, preset)

			// First, before any build can add a file.
			t.Run("equals the skeleton", func(t *testing.T) { checkEqualsSkeleton(t, dir) })
			t.Run("gofmt", func(t *testing.T) {
				out := runCmd(t, dir, nil, gofmt, "-l", ".")
				assert.Empty(t, strings.TrimSpace(out), "gofmt -l lists unformatted files")
			})
			t.Run("go mod tidy", func(t *testing.T) {
				runCmd(t, dir, nil, "go", "mod", "tidy", "-diff")
			})
			// The browser and e2e tags add the project's Chromium walks and
			// its deployment checks (run against the served app below); they
			// must compile too.
			t.Run("go vet", func(t *testing.T) { runCmd(t, dir, nil, "go", "vet", "-tags", "browser,e2e", "./...") })
			t.Run("go build", func(t *testing.T) { runCmd(t, dir, nil, "go", "build", "./...") })
			t.Run("staticcheck", func(t *testing.T) { runCmd(t, dir, nil, staticcheck, "-tags", "browser,e2e", "./...") })
			t.Run("govulncheck", func(t *testing.T) { runCmd(t, dir, nil, govulncheck, "-db", db, "./...") })
			if preset == "sqlite" {
				t.Run("go test", func(t *testing.T) {
					runCmd(t, dir, []string{"REQUIRE_POSTGRES=1"}, "go", "test", "-count=1", "./...")
				})
				t.Run("serve", func(t *testing.T) { testServe(t, dir) })
			}
		})
	}
}

// checkEqualsSkeleton compares the project in dir, file for file and mode
// for mode, with the skeleton in this checkout rendered for the same
// options. Only .env differs by design: its secrets are fresh every time.
func checkEqualsSkeleton(t *testing.T, dir string) {
	marker, err := project.Load(dir)
	require.NoError(t, err)
	want, err := generator.RenderTree(filepath.Join(moduleRoot, "templates", "skeleton"), generator.Options{
		Name: marker.Name, Module: marker.Module, DB: marker.DB, QuickscaleVersion: marker.QuickscaleVersion,
	})
	require.NoError(t, err)

	got := map[string]fs.FileMode{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = info.Mode()
		return err
	}))
	for _, f := range want {
		mode, ok := got[f.Path]
		if !assert.True(t, ok, "init did not write %s", f.Path) {
			continue
		}
		delete(got, f.Path)
		assert.Equal(t, f.Mode, mode.Perm(), "mode of %s", f.Path)
		if f.Path == ".env" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Path))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(f.Data, data), "%s differs from the rewritten skeleton", f.Path)
	}
	assert.Empty(t, got, "init wrote files the skeleton does not have")
}

// toolchainGofmt returns the gofmt of the pinned toolchain, which may
// format differently from the machine's own.
func toolchainGofmt(t *testing.T) string {
	t.Helper()
	goroot := strings.TrimSpace(runCmd(t, moduleRoot, nil, "go", "env", "GOROOT"))
	return filepath.Join(goroot, "bin", "gofmt")
}

func TestInitMakesDistinctSecrets(t *testing.T) {
	t.Parallel()
	first := readDotEnv(t, initProject(t, "sqlite"))["SECRET_KEY"]
	second := readDotEnv(t, initProject(t, "sqlite"))["SECRET_KEY"]
	for _, key := range []string{first, second} {
		b, err := hex.DecodeString(key)
		assert.NoError(t, err, "SECRET_KEY %q is not hex", key)
		assert.Len(t, b, 32, "SECRET_KEY %q is not 64 hex characters", key)
	}
	assert.NotEqual(t, second, first, "two projects got the same SECRET_KEY %q", first)
}

func TestInitIgnoresDotEnv(t *testing.T) {
	t.Parallel()
	dir := initProject(t, "postgres")
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		runCmd(t, dir, nil, "git", "init", "--quiet")
	}
	// check-ignore exits 0 when the path is ignored, 1 when it is not.
	cmd := exec.Command("git", "check-ignore", "--quiet", ".env")
	cmd.Dir = dir
	assert.NoError(t, cmd.Run(), "git check-ignore .env: the generated .gitignore does not ignore .env, which holds the secrets")
}

func TestInitRejectsBadName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := runQuickscale(t, dir, nil, "init", "Bad_Name", "--no-input")
	assert.Equal(t, 2, code, "quickscale init Bad_Name exited %d, want 2 (usage error)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	assert.Contains(t, stderr, "Bad_Name", "the error does not name the rejected name:\n%s", stderr)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "a rejected init left entries behind")
}

// testServe builds the project's binary and runs it the way an operator
// would: migrate, serve, probe, then stop it with SIGTERM.
func testServe(t *testing.T, dir string) {
	name := filepath.Base(dir)
	bin := filepath.Join(t.TempDir(), name)
	runCmd(t, dir, nil, "go", "build", "-o", bin, "./cmd/"+name)

	addr := freeAddr(t)
	base := "http://" + addr
	env := appEnv(t, dir, map[string]string{
		"HTTP_ADDR":    addr,
		"BASE_URL":     base,
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "app.db"),
	})

	migrate := exec.CommandContext(t.Context(), bin, "migrate", "up")
	migrate.Dir, migrate.Env = dir, env
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, "%s migrate up\n%s", name, out)

	var logs syncBuffer
	serve := exec.Command(bin, "serve")
	serve.Dir, serve.Env = dir, env
	serve.Stdout, serve.Stderr = &logs, &logs
	require.NoError(t, serve.Start(), "start %s serve", name)
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = serve.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})

	client := sameOriginClient(t, base)
	waitReady(t, client, base, exited)

	for _, p := range []string{"/livez", appcontract.ReadinessPath} {
		status, _ := mustGet(t, client, base+p)
		assert.Equal(t, http.StatusOK, status, "GET %s", p)
	}

	status, body := mustGet(t, client, base+"/")
	require.Equal(t, http.StatusOK, status, "GET / = %d, want 200\n%s", status, body)
	page, err := parsePage(body)
	require.NoError(t, err)
	assert.Contains(t, page.title, name, "the home page's title %q does not name the app %q", page.title, name)
	assert.True(t, slices.ContainsFunc(page.stylesheets, func(href string) bool { return isVendored(urlPath(href), "bulma.min.css") }), "the home page links no Bulma stylesheet; stylesheets: %q", page.stylesheets)
	require.NotEmpty(t, page.refs, "found no asset, link or form URL on the home page")
	t.Logf("checking %d URLs referenced by /", len(page.refs))
	assert.Empty(t, checkReferences(t.Context(), client, base, page.refs, vendoredDist), "problems with the URLs the home page references")

	// The project's own deployment checks, pointed at this server.
	runCmd(t, dir, []string{"E2E_BASE_URL=" + base}, "go", "test", "-tags", "e2e", "-count=1", "./e2e/...")

	require.NoError(t, serve.Process.Signal(syscall.SIGTERM), "send SIGTERM")
	select {
	case err := <-exited:
		stopped = true
		assert.NoError(t, err, "after SIGTERM the server must exit with status 0")
	case <-time.After(30 * time.Second):
		assert.Fail(t, "the server was still running 30s after SIGTERM")
	}
}

// appEnv is the generated .env with overrides, on a minimal base
// environment so nothing from the test's own environment leaks in.
func appEnv(t *testing.T, dir string, overrides map[string]string) []string {
	vars := readDotEnv(t, dir)
	for k, v := range overrides {
		vars[k] = v
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// readDotEnv parses the project's .env: KEY=VALUE lines, # comments, values
// optionally in single or double quotes, as compose reads them.
func readDotEnv(t testing.TB, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ".env"))
	require.NoError(t, err, "read the generated .env")
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		require.True(t, ok, ".env line %d is not KEY=VALUE: %q", n, line)
		if unquoted, err := strconv.Unquote(value); err == nil && strings.HasPrefix(value, `"`) {
			value = unquoted
		} else if len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'' {
			value = value[1 : len(value)-1]
		}
		vars[strings.TrimSpace(key)] = value
	}
	require.NoError(t, sc.Err(), "read the generated .env")
	return vars
}

// freeAddr returns a 127.0.0.1 address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func waitReady(t *testing.T, client *http.Client, base string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			require.FailNowf(t, "the server exited before it was ready", "%v", err)
		default:
		}
		resp, err := client.Get(base + appcontract.ReadinessPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		require.False(t, time.Now().After(deadline), "GET %s did not answer 200 within 60s (last: %v)", appcontract.ReadinessPath, describe(resp, err))
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
