package generator

import (
	"io"
	mathrand "math/rand/v2"
	"os"
	"testing"
	"testing/fstest"
)

// fixture is a small skeleton that exercises every convention, so the
// generator's tests do not depend on the real skeleton's contents.
func fixture() source {
	return source{
		skeleton:   os.DirFS("testdata/skeleton"),
		frontend:   fakeFrontend(),
		presetOnly: map[string]string{"migrations/postgres/": "postgres", "migrations/sqlite/0001_init.sql": "sqlite"},
	}
}

func fakeFrontend() fstest.MapFS {
	m := fstest.MapFS{}
	for _, name := range frontendFiles {
		m[name] = &fstest.MapFile{Data: []byte("asset " + name + "\n"), Mode: 0o644}
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
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return files
}

func fileMap(files []File) map[string]File {
	m := make(map[string]File, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

// withSkeleton returns the fixture with a replaced in-memory skeleton.
func withSkeleton(files map[string]string) source {
	m := fstest.MapFS{}
	for p, data := range files {
		m[p] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
	}
	return source{skeleton: m, frontend: fakeFrontend()}
}
