package generator

import (
	"bytes"
	"errors"
	"go/format"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quickscale/quickscale/internal/appcontract"
	"github.com/quickscale/quickscale/internal/project"
)

func paths(files []File) []string {
	var ps []string
	for _, f := range files {
		ps = append(ps, f.Path)
	}
	return ps
}

func TestRenderConventions(t *testing.T) {
	files := mustRender(t, fixture(), opts("sqlite"))
	want := []string{
		".dockerignore",
		".env",
		".env.example",
		".github/workflows/ci.yml",
		".gitignore",
		"cmd/my-app/main.go",
		"go.mod",
		"internal/app/app.go",
		"internal/web/static/vendor/LICENSE-alpine",
		"internal/web/static/vendor/LICENSE-bulma",
		"internal/web/static/vendor/LICENSE-htmx",
		"internal/web/static/vendor/alpine-csp.min.js",
		"internal/web/static/vendor/bulma.min.css",
		"internal/web/static/vendor/htmx.min.js",
		"migrations/sqlite/0001_init.sql",
		"quickscale.yaml",
		"scripts/setup",
		"static/app.css",
		"static/check.sh",
	}
	if got := paths(files); !slices.Equal(got, want) {
		t.Fatalf("paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	m := fileMap(files)
	if got := string(m["go.mod"].Data); got != "module example.com/my-app\n\ngo 1.27.3\n" {
		t.Errorf("go.mod = %q", got)
	}
	if got := string(m[".env.example"].Data); !strings.Contains(got, "DATABASE_URL=sqlite:data/app.db") {
		t.Errorf(".env.example = %q", got)
	}
	if raw := readFixture(t, "static/app.css"); string(m["static/app.css"].Data) != raw {
		t.Errorf("a file without .tmpl must be copied byte for byte; got %q", m["static/app.css"].Data)
	}
	if got := string(m["internal/web/static/vendor/htmx.min.js"].Data); got != "asset htmx.min.js\n" {
		t.Errorf("vendored htmx = %q", got)
	}
	wantMain := strings.NewReplacer(
		`"example.com/skeleton/internal/app"`, `"example.com/my-app/internal/app"`,
		`appName = "skeleton"`, `appName = "my-app"`,
		`templateVersion   = "0"`, `templateVersion   = "`+strconv.Itoa(TemplateVersion)+`"`,
		`quickscaleVersion = "dev"`, `quickscaleVersion = "v0.1.0"`,
	).Replace(readFixture(t, "cmd/skeleton/main.go"))
	if got := string(m["cmd/my-app/main.go"].Data); got != wantMain {
		t.Errorf("cmd/my-app/main.go:\n%s\nwant:\n%s", got, wantMain)
	}
	if got, want := string(m["internal/app/app.go"].Data), readFixture(t, "internal/app/app.go"); got != want {
		t.Errorf("a string holding the module path was rewritten:\n%s", got)
	}
	wantMarker := project.Encode(project.Marker{Name: "my-app", Module: "example.com/my-app", DB: "sqlite", TemplateVersion: TemplateVersion, QuickscaleVersion: "v0.1.0"})
	if !bytes.Equal(m[project.FileName].Data, wantMarker) {
		t.Errorf("marker = %q, want %q", m[project.FileName].Data, wantMarker)
	}
	for _, f := range files {
		want := fs.FileMode(0o644)
		switch f.Path {
		case "scripts/setup", "static/check.sh":
			want = 0o755
		case ".env":
			want = 0o600
		}
		if f.Mode != want {
			t.Errorf("%s has mode %v, want %v", f.Path, f.Mode, want)
		}
	}
}

// TestRewrittenSkeletonIsGofmtClean is what lets Render skip gofmt: every
// Go file of the real skeleton must come out exactly as gofmt would print
// it, whatever the name and module. Their lengths could move aligned
// comments and their spelling could reorder imports, so the extremes are
// tried.
func TestRewrittenSkeletonIsGofmtClean(t *testing.T) {
	names := []string{strings.Repeat("a", minNameLen), "z" + strings.Repeat("y-9", (maxNameLen-1)/3)}
	modules := []string{
		"a.io/b",          // sorts before every other import
		"github.com/aa/x", // among the third-party imports
		"golang.org/zz",   // after github.com
		"zz.example/" + strings.Repeat("very-long-path/", 8) + "end",
	}
	for _, name := range names {
		for _, module := range modules {
			files, err := RenderTree(skeletonDir, Options{Name: name, Module: module, DB: "sqlite", QuickscaleVersion: "v0.1.0", Random: fixedRandom(3)})
			if err != nil {
				t.Fatalf("render %s %s: %v", name, module, err)
			}
			for _, f := range files {
				if !strings.HasSuffix(f.Path, ".go") {
					continue
				}
				formatted, err := format.Source(f.Data)
				if err != nil {
					t.Fatalf("name %s, module %s: %s is not valid Go: %v", name, module, f.Path, err)
				}
				if !bytes.Equal(formatted, f.Data) {
					t.Errorf("name %s, module %s: %s is not gofmt-formatted after the rewrite (line %d); keep the skeleton's own imports in a group of their own, after the others",
						name, module, f.Path, firstDifferentLine(f.Data, formatted))
				}
			}
		}
	}
}

// firstDifferentLine is the 1-based line where a and b first differ.
func firstDifferentLine(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return bytes.Count(a[:i], []byte("\n")) + 1
}

func TestRenderPresets(t *testing.T) {
	const pgOnly, liteOnly = "migrations/postgres/0001_init.sql", "migrations/sqlite/0001_init.sql"
	sqlite := fileMap(mustRender(t, fixture(), opts("sqlite")))
	postgres := fileMap(mustRender(t, fixture(), opts("postgres")))
	if _, ok := sqlite[pgOnly]; ok {
		t.Errorf("sqlite preset has %s from a postgres-only directory", pgOnly)
	}
	if _, ok := postgres[pgOnly]; !ok {
		t.Errorf("postgres preset lacks %s", pgOnly)
	}
	if _, ok := postgres[liteOnly]; ok {
		t.Errorf("postgres preset has the sqlite-only %s", liteOnly)
	}
	if _, ok := sqlite[liteOnly]; !ok {
		t.Errorf("sqlite preset lacks %s", liteOnly)
	}
	if got := string(postgres[".env.example"].Data); !strings.Contains(got, "DATABASE_URL=postgres://") {
		t.Errorf("postgres .env.example = %q", got)
	}
	if bytes.Contains(sqlite[".env"].Data, []byte("POSTGRES_PASSWORD")) {
		t.Errorf("sqlite .env has a PostgreSQL password")
	}
}

func TestRenderIsDeterministicForFixedRandom(t *testing.T) {
	a := mustRender(t, fixture(), opts("postgres"))
	b := mustRender(t, fixture(), opts("postgres"))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two renders with the same fixed random source differ")
	}
	o := opts("postgres")
	o.Random = fixedRandom(2)
	c := mustRender(t, fixture(), o)
	if reflect.DeepEqual(a, c) {
		t.Fatal("renders with different random sources are identical: secrets do not come from Random")
	}
}

var envSecrets = regexp.MustCompile(`(?m)^SECRET_KEY=([0-9a-f]*)\nPOSTGRES_PASSWORD=([0-9a-f]*)$`)

func TestRenderSecretsAreFreshAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		o := opts("postgres")
		o.Random = nil // crypto/rand
		env := fileMap(mustRender(t, fixture(), o))[".env"].Data
		m := envSecrets.FindSubmatch(env)
		if m == nil {
			t.Fatalf(".env lacks the secrets:\n%s", env)
		}
		key, pw := string(m[1]), string(m[2])
		if len(key) != 64 || len(pw) != 32 {
			t.Fatalf("secret key %d hex chars (want 64), password %d (want 32)", len(key), len(pw))
		}
		if seen[key] || seen[pw] {
			t.Fatal("a secret repeated across renders")
		}
		seen[key], seen[pw] = true, true
	}
}

func TestRenderRandomFailure(t *testing.T) {
	o := opts("sqlite")
	o.Random = bytes.NewReader(make([]byte, 10))
	if _, err := render(fixture(), o); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("render with a short random source: %v", err)
	}
}

func TestRenderRejectsInvalidOptions(t *testing.T) {
	o := opts("mysql")
	_, err := render(fixture(), o)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "db" {
		t.Fatalf("render with --db mysql: %v", err)
	}
}

func TestRenderTemplateErrorsNameTheTemplate(t *testing.T) {
	base := map[string]string{".gitignore": ".env\n"}
	cases := map[string]struct{ file, body, want string }{
		"unknown field":    {"README.md.tmpl", "{{.Nope}}\n", "README.md.tmpl"},
		"syntax error":     {"Makefile.tmpl", "{{if .Name}}\n", "Makefile.tmpl"},
		"secret elsewhere": {"dot-env.example.tmpl", "SECRET_KEY={{.Secrets.SecretKey}}\n", "only dot-env.tmpl may use"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{c.file: c.body}
			for k, v := range base {
				files[k] = v
			}
			_, err := render(withSkeleton(files), opts("sqlite"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("render: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestRenderReportsTheFirstBrokenTemplate(t *testing.T) {
	files := map[string]string{".gitignore": ".env\n"}
	for _, name := range []string{"a", "m", "z"} {
		files[name+"/x.md.tmpl"] = "# {{.Nope}}\n"
	}
	for range 20 {
		_, err := render(withSkeleton(files), opts("sqlite"))
		if err == nil || !strings.Contains(err.Error(), "a/x.md.tmpl:") {
			t.Fatalf("render: %v, want the error of a/x.md.tmpl, the first in path order", err)
		}
	}
}

func TestRenderChecksTheResult(t *testing.T) {
	env := "SECRET_KEY={{.Secrets.SecretKey}}\n"
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"two files render to one path":  {map[string]string{"dot-x": "a", ".x": "b"}, `two skeleton files render to ".x"`},
		"file and directory clash":      {map[string]string{"cmd/my-app": "a", "cmd/skeleton/b": "b"}, "both a file and the directory"},
		"skeleton overrides the marker": {map[string]string{"quickscale.yaml": "name: x\n"}, `two skeleton files render to "quickscale.yaml"`},
		".env without .gitignore":       {map[string]string{"dot-env.tmpl": env}, "no .gitignore"},
		".gitignore misses .env":        {map[string]string{"dot-env.tmpl": env, ".gitignore": ".env.*\n"}, ".gitignore does not list .env"},
		".dockerignore misses .env":     {map[string]string{"dot-env.tmpl": env, ".gitignore": "/.env\n", ".dockerignore": "bin/\n"}, ".dockerignore does not list .env"},
		".env without the secret":       {map[string]string{"dot-env.tmpl": "SECRET_KEY=changeme\n", ".gitignore": ".env\n"}, "does not contain the generated secret key"},
		"no .env":                       {map[string]string{".gitignore": ".env\n"}, "lacks .env"},
		"no go.mod":                     {map[string]string{goModFile: ""}, "no go.mod"},
		"no main file":                  {map[string]string{mainFile: ""}, "no cmd/skeleton/main.go"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(withSkeleton(c.files), opts("sqlite"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("render: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestRenderPostgresEnvNeedsPassword(t *testing.T) {
	src := withSkeleton(map[string]string{"dot-env.tmpl": "SECRET_KEY={{.Secrets.SecretKey}}\n", ".gitignore": ".env\n"})
	if _, err := render(src, opts("sqlite")); err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	if _, err := render(src, opts("postgres")); err == nil || !strings.Contains(err.Error(), "PostgreSQL password") {
		t.Fatalf("postgres .env without a password: %v", err)
	}
}

func TestRenderMissingFrontendAsset(t *testing.T) {
	_, err := render(withSkeleton(map[string]string{appcontract.VendorDir + "/alpine-csp.min.js": ""}), opts("sqlite"))
	if err == nil || !strings.Contains(err.Error(), "alpine-csp.min.js") || !strings.Contains(err.Error(), "make assets") {
		t.Fatalf("render without Alpine: %v", err)
	}
}

func TestIgnores(t *testing.T) {
	cases := []struct {
		file string
		want bool
	}{
		{".env\n", true},
		{"/.env\n", true},
		{"**/.env\n", true},
		{"# .env\n", false},
		{".env/\n", false},
		{".env.*\n!.env.example\n", false},
		{".env\n.env.*\n!.env.example\n", true},
		{"*\n!Dockerfile\n!build/app\n", true},
		{"*\n!.env\n", false},
		{".env\n!.env\n", false},
		{"!.env\n.env\n", true},
		{".e*\n", true},
		{"bin/\n", false},
	}
	for _, c := range cases {
		if got := ignores([]byte(c.file), ".env"); got != c.want {
			t.Errorf("ignores(%q, .env) = %v, want %v", c.file, got, c.want)
		}
	}
}

func TestOutputPath(t *testing.T) {
	cases := map[string]string{
		"cmd/skeleton/main.go":   "cmd/my-app/main.go",
		"cmd/skeleton/a/b.go":    "cmd/my-app/a/b.go",
		"cmd/skeletons/x.go":     "cmd/skeletons/x.go",
		"a/cmd/skeleton/x.go":    "a/cmd/skeleton/x.go",
		"dot-env.tmpl":           ".env",
		"dot-github/workflows/x": ".github/workflows/x",
		"dot-":                   "dot-",
		"docs/dot-notes.md":      "docs/.notes.md",
		"web/page.html":          "web/page.html",
		"x.tmpl.md":              "x.tmpl.md",
	}
	for in, want := range cases {
		if got := outputPath(in, "my-app"); got != want {
			t.Errorf("outputPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPathsRejectsEscapes(t *testing.T) {
	for _, p := range []string{"", ".", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", `a\b`, "a/"} {
		if err := checkPaths([]File{{Path: p}}); err == nil {
			t.Errorf("checkPaths accepted %q", p)
		}
	}
}
