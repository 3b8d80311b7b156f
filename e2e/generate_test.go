package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TestGeneratedProjects generates a project for each database preset, with
// no terminal, and holds it to the bar quickscale's own code meets: gofmt,
// vet, a tidy go.mod, a race-enabled test run with PostgreSQL required,
// staticcheck and govulncheck. The sqlite project is then built and served.
//
// The presets run one after the other: each compiles a few hundred packages
// with the race detector, and in sequence the second reuses the build cache
// the first filled.
func TestGeneratedProjects(t *testing.T) {
	staticcheck := toolPath(t, "staticcheck")
	govulncheck := toolPath(t, "govulncheck")
	db := vulnDB(t)
	gofmt := toolchainGofmt(t)

	for _, preset := range []string{"sqlite", "postgres"} {
		t.Run(preset, func(t *testing.T) {
			dir := initProject(t, preset)

			t.Run("gofmt", func(t *testing.T) {
				if out := runCmd(t, dir, nil, gofmt, "-l", "."); strings.TrimSpace(out) != "" {
					t.Errorf("gofmt -l lists unformatted files:\n%s", out)
				}
			})
			t.Run("go mod tidy", func(t *testing.T) {
				runCmd(t, dir, nil, "go", "mod", "tidy", "-diff")
			})
			t.Run("go vet", func(t *testing.T) { runCmd(t, dir, nil, "go", "vet", "./...") })
			t.Run("go build", func(t *testing.T) { runCmd(t, dir, nil, "go", "build", "./...") })
			t.Run("go test", func(t *testing.T) {
				runCmd(t, dir, []string{"REQUIRE_POSTGRES=1"}, "go", "test", "-race", "-count=1", "./...")
			})
			t.Run("staticcheck", func(t *testing.T) { runCmd(t, dir, nil, staticcheck, "./...") })
			t.Run("govulncheck", func(t *testing.T) { runCmd(t, dir, nil, govulncheck, "-db", db, "./...") })
			if preset == "sqlite" {
				t.Run("serve", func(t *testing.T) { testServe(t, dir) })
			}
		})
	}
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
		if b, err := hex.DecodeString(key); err != nil || len(b) != 32 {
			t.Errorf("SECRET_KEY %q is not 64 hex characters", key)
		}
	}
	if first == second {
		t.Errorf("two projects got the same SECRET_KEY %q", first)
	}
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
	if err := cmd.Run(); err != nil {
		t.Errorf("git check-ignore .env: %v: the generated .gitignore does not ignore .env, which holds the secrets", err)
	}
}

func TestInitRejectsBadName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stdout, stderr, code := runQuickscale(t, dir, nil, "init", "Bad_Name", "--no-input")
	if code != 2 {
		t.Errorf("quickscale init Bad_Name exited %d, want 2 (usage error)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "Bad_Name") {
		t.Errorf("the error does not name the rejected name:\n%s", stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("a rejected init left %d entries behind, first %q", len(entries), entries[0].Name())
	}
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
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("%s migrate up: %v\n%s", name, err, out)
	}

	var logs syncBuffer
	serve := exec.Command(bin, "serve")
	serve.Dir, serve.Env = dir, env
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatalf("start %s serve: %v", name, err)
	}
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

	for _, p := range []string{"/livez", "/readyz"} {
		if status, _ := get(t, client, base+p); status != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", p, status)
		}
	}

	status, body := get(t, client, base+"/")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d, want 200\n%s", status, body)
	}
	page := parsePage(t, body)
	if !strings.Contains(page.title, name) {
		t.Errorf("the home page's title %q does not name the app %q", page.title, name)
	}
	if !slices.ContainsFunc(page.stylesheets, func(href string) bool { return isVendored(urlPath(href), "bulma.min.css") }) {
		t.Errorf("the home page links no Bulma stylesheet; stylesheets: %q", page.stylesheets)
	}
	if len(page.refs) == 0 {
		t.Fatal("found no asset, link or form URL on the home page")
	}
	checkReferences(t, client, base, page.refs)

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("after SIGTERM the server exited with %v, want exit status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("the server was still running 30s after SIGTERM")
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
	if err != nil {
		t.Fatalf("read the generated .env: %v", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			t.Fatalf(".env line %d is not KEY=VALUE: %q", n, line)
		}
		if unquoted, err := strconv.Unquote(value); err == nil && strings.HasPrefix(value, `"`) {
			value = unquoted
		} else if len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'' {
			value = value[1 : len(value)-1]
		}
		vars[strings.TrimSpace(key)] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the generated .env: %v", err)
	}
	return vars
}

// freeAddr returns a 127.0.0.1 address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sameOriginClient follows redirects only within base's origin: a redirect
// elsewhere would be a request to another host, which the page must never
// cause.
func sameOriginClient(t *testing.T, base string) *http.Client {
	origin, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
				return fmt.Errorf("redirect from %s to another origin: %s", via[len(via)-1].URL, req.URL)
			}
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return nil
		},
	}
}

func waitReady(t *testing.T, client *http.Client, base string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("the server exited before it was ready: %v", err)
		default:
		}
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz did not answer 200 within 60s (last: %v)", describe(resp, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

func get(t *testing.T, client *http.Client, u string) (int, []byte) {
	t.Helper()
	return do(t, client, http.MethodGet, u)
}

func do(t *testing.T, client *http.Client, method, u string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp.StatusCode, body
}

// ref is one URL the page makes the browser request, or lets the user
// request: a script, stylesheet, icon, image, link, form or htmx request.
type ref struct {
	element, attr, url string
	method             string // GET, or a form's or htmx attribute's method
	integrity          string // a Subresource Integrity value, if any
}

type page struct {
	title       string
	stylesheets []string
	refs        []ref
}

// htmxAttrs maps htmx's request attributes to their methods.
var htmxAttrs = map[string]string{
	"hx-get": http.MethodGet, "hx-post": http.MethodPost, "hx-put": http.MethodPut,
	"hx-patch": http.MethodPatch, "hx-delete": http.MethodDelete,
}

func parsePage(t *testing.T, body []byte) page {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the home page: %v", err)
	}
	var p page
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attr := func(key string) (string, bool) {
			for _, a := range n.Attr {
				if a.Namespace == "" && a.Key == key {
					return a.Val, true
				}
			}
			return "", false
		}
		add := func(key, method string) {
			if v, ok := attr(key); ok {
				sri, _ := attr("integrity")
				p.refs = append(p.refs, ref{element: n.Data, attr: key, url: v, method: method, integrity: sri})
			}
		}
		switch n.DataAtom {
		case atom.Title:
			if n.FirstChild != nil {
				p.title = n.FirstChild.Data
			}
		case atom.Link:
			add("href", http.MethodGet)
			if rel, _ := attr("rel"); slices.Contains(strings.Fields(strings.ToLower(rel)), "stylesheet") {
				href, _ := attr("href")
				p.stylesheets = append(p.stylesheets, href)
			}
		case atom.Script, atom.Img, atom.Source, atom.Iframe, atom.Audio, atom.Video, atom.Embed:
			add("src", http.MethodGet)
		case atom.A, atom.Area:
			add("href", http.MethodGet)
		case atom.Form:
			method, _ := attr("method")
			method = strings.ToUpper(method)
			if method == "" {
				method = http.MethodGet
			}
			if _, ok := attr("action"); ok {
				add("action", method)
			} else {
				// A form without an action submits to the page itself.
				p.refs = append(p.refs, ref{element: "form", attr: "action", url: "", method: method})
			}
		}
		for key, method := range htmxAttrs {
			add(key, method)
		}
	}
	return p
}

// checkReferences proves that every URL on the page stays on base's origin
// and that what a browser would fetch answers 200, with the content its
// integrity attribute promises.
func checkReferences(t *testing.T, client *http.Client, base string, refs []ref) {
	t.Helper()
	origin, err := url.Parse(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, r := range refs {
		where := fmt.Sprintf("<%s %s=%q>", r.element, r.attr, r.url)
		u, err := origin.Parse(strings.TrimSpace(r.url))
		if err != nil {
			t.Errorf("%s: not a URL: %v", where, err)
			continue
		}
		switch u.Scheme {
		case "mailto", "tel":
			continue // handed to another application, not requested
		case "data":
			if r.element == "img" || r.element == "link" {
				continue // inline content, no request
			}
		}
		if u.Scheme != origin.Scheme || u.Host != origin.Host {
			t.Errorf("%s leaves the app's origin (%s://%s): every request must stay on it", where, origin.Scheme, origin.Host)
			continue
		}
		u.Fragment = ""
		key := r.method + " " + u.String() + " " + r.integrity
		if checked[key] {
			continue
		}
		checked[key] = true

		if r.method != http.MethodGet {
			// Submitting a form needs its fields and a real browser's
			// headers; the route must at least exist.
			status, _ := do(t, client, r.method, u.String())
			if status == http.StatusNotFound || status == http.StatusMethodNotAllowed || status >= 500 {
				t.Errorf("%s: %s %s = %d: no route takes this submission", where, r.method, u.Path, status)
			}
			continue
		}
		status, body := get(t, client, u.String())
		if status != http.StatusOK {
			t.Errorf("%s: GET %s = %d, want 200", where, u.Path, status)
			continue
		}
		if r.integrity != "" {
			if err := checkIntegrity(r.integrity, body); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
		checkVendored(t, where, u.Path, body)
	}
}

// checkIntegrity verifies a Subresource Integrity attribute the way a
// browser does: the resource must match one of the listed digests.
func checkIntegrity(integrity string, body []byte) error {
	hashes := map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}
	for _, item := range strings.Fields(integrity) {
		alg, want, ok := strings.Cut(item, "-")
		newHash, known := hashes[alg]
		if !ok || !known {
			continue
		}
		want, _, _ = strings.Cut(want, "?")
		h := newHash()
		h.Write(body)
		if base64.StdEncoding.EncodeToString(h.Sum(nil)) == want {
			return nil
		}
	}
	return fmt.Errorf("integrity %q does not match the %d bytes served: a browser would refuse the file", integrity, len(body))
}

// checkVendored compares a served third-party file with the one quickscale
// embeds, so the app serves exactly the verified npm release.
func checkVendored(t *testing.T, where, urlPath string, body []byte) {
	t.Helper()
	for _, file := range []string{"htmx.min.js", "alpine-csp.min.js", "bulma.min.css"} {
		if !isVendored(urlPath, file) {
			continue
		}
		want, err := os.ReadFile(filepath.Join(moduleRoot, "templates", "frontend", "dist", file))
		if err != nil {
			t.Fatalf("read the embedded %s: %v", file, err)
		}
		if !bytes.Equal(body, want) {
			t.Errorf("%s: serves %d bytes that differ from quickscale's %s (%d bytes)", where, len(body), file, len(want))
		}
	}
}

// isVendored reports whether a URL path serves the vendored file, under its
// own name or a fingerprinted one ("bulma.min.3f9a1c.css").
func isVendored(urlPath, file string) bool {
	base, ext := path.Base(urlPath), path.Ext(file)
	stem := strings.TrimSuffix(file, ext)
	return base == file || (strings.HasPrefix(base, stem+".") && strings.HasSuffix(base, ext))
}

func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
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
