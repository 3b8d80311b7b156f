package generator

import (
	"io"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/quickscale/quickscale/internal/appcontract"
)

// fixture is a small skeleton that exercises every convention, so the
// generator's tests do not depend on the real skeleton's contents.
func fixture() source {
	return source{
		skeleton:   os.DirFS("testdata/skeleton"),
		presetOnly: map[string]string{"migrations/postgres/": "postgres", "migrations/sqlite/0001_init.sql": "sqlite"},
	}
}

// minimalSkeleton is what every skeleton needs besides the files a test is
// about: a go.mod, the main file with its stamps, the front-end assets.
func minimalSkeleton() map[string]string {
	m := map[string]string{
		goModFile: "module example.com/skeleton\n\ngo 1.27.3\n",
		mainFile:  "package main\n\nconst appName = \"skeleton\"\n\nconst (\n\ttemplateVersion   = \"0\"\n\tquickscaleVersion = \"dev\"\n)\n",
	}
	for _, name := range appcontract.VendoredFiles() {
		m[appcontract.VendorDir+"/"+name] = "asset " + name + "\n"
	}
	return m
}

// fixedRandom returns a reader that yields the same varied bytes every time
// it is created with the same seed.
func fixedRandom(seed byte) io.Reader {
	return mathrand.NewChaCha8([32]byte{seed})
}

func opts(db string) Options {
	return Options{Name: "my-app", Module: "example.com/my-app", DB: db, QuickscaleVersion: "v0.1.0", Random: fixedRandom(1)}
}

func mustRender(t testing.TB, src source, o Options) []File {
	t.Helper()
	files, err := render(src, o)
	require.NoError(t, err, "render")
	return files
}

func fileMap(files []File) map[string]File {
	m := make(map[string]File, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

// withSkeleton returns an in-memory skeleton of the minimal files and
// files, which win where both name a path; an empty value removes a path.
func withSkeleton(files map[string]string) source {
	m := fstest.MapFS{}
	for _, set := range []map[string]string{minimalSkeleton(), files} {
		for p, data := range set {
			if data == "" {
				delete(m, p)
				continue
			}
			m[p] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
		}
	}
	return source{skeleton: m}
}

func readFixture(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/skeleton", p))
	require.NoError(t, err)
	return string(data)
}

// skeletonDir is the real skeleton, in place: tests of the real skeleton
// read it (RenderTree) rather than the packed copy, which may be older than
// the tree.
const skeletonDir = "../templates/skeleton"
