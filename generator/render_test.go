package generator

import (
	"bytes"
	"go/format"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.Equal(t, want, paths(files), "paths")
	m := fileMap(files)
	assert.Equal(t, "module example.com/my-app\n\ngo 1.27.3\n", string(m["go.mod"].Data), "go.mod")
	assert.Contains(t, string(m[".env.example"].Data), "DATABASE_URL=sqlite:data/app.db", ".env.example")
	assert.Equal(t, readFixture(t, "static/app.css"), string(m["static/app.css"].Data), "a file without .tmpl must be copied byte for byte")
	assert.Equal(t, "asset htmx.min.js\n", string(m["internal/web/static/vendor/htmx.min.js"].Data), "vendored htmx")
	wantMain := strings.NewReplacer(
		`"example.com/skeleton/internal/app"`, `"example.com/my-app/internal/app"`,
		`appName = "skeleton"`, `appName = "my-app"`,
		`templateVersion   = "0"`, `templateVersion   = "`+strconv.Itoa(TemplateVersion)+`"`,
		`quickscaleVersion = "dev"`, `quickscaleVersion = "v0.1.0"`,
	).Replace(readFixture(t, "cmd/skeleton/main.go"))
	assert.Equal(t, wantMain, string(m["cmd/my-app/main.go"].Data), "cmd/my-app/main.go")
	assert.Equal(t, readFixture(t, "internal/app/app.go"), string(m["internal/app/app.go"].Data), "a string holding the module path was rewritten")
	wantMarker := project.Encode(project.Marker{Name: "my-app", Module: "example.com/my-app", DB: "sqlite", TemplateVersion: TemplateVersion, QuickscaleVersion: "v0.1.0"})
	assert.Equal(t, wantMarker, m[project.FileName].Data, "marker = %q, want %q", m[project.FileName].Data, wantMarker)
	for _, f := range files {
		want := fs.FileMode(0o644)
		switch f.Path {
		case "scripts/setup", "static/check.sh":
			want = 0o755
		case ".env":
			want = 0o600
		}
		assert.Equal(t, want, f.Mode, "%s has mode %v, want %v", f.Path, f.Mode, want)
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
			require.NoError(t, err, "render %s %s", name, module)
			for _, f := range files {
				if !strings.HasSuffix(f.Path, ".go") {
					continue
				}
				formatted, err := format.Source(f.Data)
				require.NoError(t, err, "name %s, module %s: %s is not valid Go", name, module, f.Path)
				assert.True(t, bytes.Equal(formatted, f.Data), "name %s, module %s: %s is not gofmt-formatted after the rewrite (line %d); keep the skeleton's own imports in a group of their own, after the others",
					name, module, f.Path, firstDifferentLine(f.Data, formatted))
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
	assert.NotContains(t, sqlite, pgOnly, "sqlite preset has a file from a postgres-only directory")
	assert.Contains(t, postgres, pgOnly, "postgres preset lacks it")
	assert.NotContains(t, postgres, liteOnly, "postgres preset has the sqlite-only file")
	assert.Contains(t, sqlite, liteOnly, "sqlite preset lacks it")
	assert.Contains(t, string(postgres[".env.example"].Data), "DATABASE_URL=postgres://", "postgres .env.example")
	assert.False(t, bytes.Contains(sqlite[".env"].Data, []byte("POSTGRES_PASSWORD")), "sqlite .env has a PostgreSQL password")
}

func TestRenderIsDeterministicForFixedRandom(t *testing.T) {
	a := mustRender(t, fixture(), opts("postgres"))
	b := mustRender(t, fixture(), opts("postgres"))
	require.Equal(t, a, b, "two renders with the same fixed random source differ")
	o := opts("postgres")
	o.Random = fixedRandom(2)
	c := mustRender(t, fixture(), o)
	require.NotEqual(t, a, c, "renders with different random sources are identical: secrets do not come from Random")
}

var envSecrets = regexp.MustCompile(`(?m)^SECRET_KEY=([0-9a-f]*)\nPOSTGRES_PASSWORD=([0-9a-f]*)$`)

func TestRenderSecretsAreFreshAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		o := opts("postgres")
		o.Random = nil // crypto/rand
		env := fileMap(mustRender(t, fixture(), o))[".env"].Data
		m := envSecrets.FindSubmatch(env)
		require.NotNil(t, m, ".env lacks the secrets:\n%s", env)
		key, pw := string(m[1]), string(m[2])
		require.Len(t, key, 64, "secret key hex chars")
		require.Len(t, pw, 32, "password hex chars")
		require.False(t, seen[key] || seen[pw], "a secret repeated across renders")
		seen[key], seen[pw] = true, true
	}
}

func TestRenderRandomFailure(t *testing.T) {
	o := opts("sqlite")
	o.Random = bytes.NewReader(make([]byte, 10))
	_, err := render(fixture(), o)
	require.Error(t, err, "render with a short random source")
	require.Contains(t, err.Error(), "secret", "render with a short random source")
}

func TestRenderRejectsInvalidOptions(t *testing.T) {
	o := opts("mysql")
	_, err := render(fixture(), o)
	var ie *InputError
	require.ErrorAs(t, err, &ie, "render with --db mysql")
	require.Equal(t, "db", ie.Field, "render with --db mysql: %v", err)
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
			require.Error(t, err, "render")
			require.Contains(t, err.Error(), c.want, "render")
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
		require.Error(t, err, "render")
		require.Contains(t, err.Error(), "a/x.md.tmpl:", "render must report the error of a/x.md.tmpl, the first in path order")
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
		"unreadable .gitignore":         {map[string]string{"dot-env.tmpl": env, ".gitignore": ".env\na/**/b\n"}, `read .gitignore: line 2: "a/**/b"`},
		".env without the secret":       {map[string]string{"dot-env.tmpl": "SECRET_KEY=changeme\n", ".gitignore": ".env\n"}, "does not contain the generated secret key"},
		"no .env":                       {map[string]string{".gitignore": ".env\n"}, "lacks .env"},
		"no go.mod":                     {map[string]string{goModFile: ""}, "no go.mod"},
		"no main file":                  {map[string]string{mainFile: ""}, "no cmd/skeleton/main.go"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(withSkeleton(c.files), opts("sqlite"))
			require.Error(t, err, "render")
			require.Contains(t, err.Error(), c.want, "render")
		})
	}
}

func TestRenderPostgresEnvNeedsPassword(t *testing.T) {
	src := withSkeleton(map[string]string{"dot-env.tmpl": "SECRET_KEY={{.Secrets.SecretKey}}\n", ".gitignore": ".env\n"})
	_, err := render(src, opts("sqlite"))
	require.NoError(t, err, "sqlite")
	_, err = render(src, opts("postgres"))
	require.Error(t, err, "postgres .env without a password")
	require.Contains(t, err.Error(), "PostgreSQL password", "postgres .env without a password")
}

func TestRenderMissingFrontendAsset(t *testing.T) {
	_, err := render(withSkeleton(map[string]string{appcontract.VendorDir + "/alpine-csp.min.js": ""}), opts("sqlite"))
	require.Error(t, err, "render without Alpine")
	assert.Contains(t, err.Error(), "alpine-csp.min.js")
	assert.Contains(t, err.Error(), "make assets")
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
		got, err := ignores([]byte(c.file), ".env")
		require.NoError(t, err, c.file)
		assert.Equal(t, c.want, got, "ignores(%q, .env)", c.file)
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
		assert.Equal(t, want, outputPath(in, "my-app"), "outputPath(%q)", in)
	}
}

func TestCheckPathsRejectsEscapes(t *testing.T) {
	for _, p := range []string{"", ".", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", `a\b`, "a/"} {
		assert.Error(t, checkPaths([]File{{Path: p}}), "checkPaths accepted %q", p)
	}
}
