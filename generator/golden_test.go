package generator

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from the embedded skeleton")

// goldenFiles are the rendered files worth reviewing as a whole when they
// change: the ones that decide how a project builds and runs.
var goldenFiles = []string{"go.mod", "compose.yaml", "Dockerfile", ".env.example"}

const goldenDir = "../testdata/golden"

// goldenOptions fix everything, including the random source, so the golden
// files change only when the skeleton or the generator does.
func goldenOptions(db string) Options {
	return Options{Name: "my-app", Module: "example.com/my-app", DB: db, QuickscaleVersion: "v0.1.0", Random: fixedRandom(42)}
}

// fileList is files.txt: every path with its mode. Sizes are left out so an
// unrelated edit inside a file does not churn it.
func fileList(files []File) []byte {
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "%04o %s\n", f.Mode.Perm(), f.Path)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, db := range DBs {
		t.Run(db, func(t *testing.T) {
			files, err := Render(goldenOptions(db))
			require.NoError(t, err, "render the embedded skeleton")
			dir := filepath.Join(goldenDir, db)
			byPath := fileMap(files)
			checkGolden(t, filepath.Join(dir, "files.txt"), fileList(files), true)
			for _, name := range goldenFiles {
				f, ok := byPath[name]
				checkGolden(t, filepath.Join(dir, name), f.Data, ok)
			}
		})
	}
}

// checkGolden compares got with the golden file at path. A file the skeleton
// does not have (yet) must have no golden file either, so a stale golden is
// noticed.
func checkGolden(t *testing.T, path string, got []byte, present bool) {
	t.Helper()
	if *update {
		var err error
		if present {
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				err = os.WriteFile(path, got, 0o644)
			}
		} else if err = os.Remove(path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		require.NoError(t, err)
		return
	}
	want, err := os.ReadFile(path)
	switch {
	case !present && errors.Is(err, fs.ErrNotExist):
		return
	case !present:
		assert.Failf(t, "golden file without a rendered file", "%s exists but the skeleton renders no such file; run go test ./generator -update", path)
	case err != nil:
		assert.NoError(t, err, "read golden file; run go test ./generator -update")
	default:
		assert.True(t, bytes.Equal(got, want), "%s differs from the rendered file; review the change, then run go test ./generator -update\n%s", path, lineDiff(want, got))
	}
}

// lineDiff lists the lines only the golden file has (-) and only the
// rendered file has (+), found through a longest common subsequence; the
// files compared are small enough for the quadratic table.
func lineDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	const maxLines = 40
	shown := 0
	emit := func(sign string, line string) {
		if shown < maxLines {
			fmt.Fprintf(&b, "%s %s\n", sign, line)
		}
		shown++
	}
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			emit("+", g[j])
			j++
		default:
			emit("-", w[i])
			i++
		}
	}
	if shown > maxLines {
		fmt.Fprintf(&b, "... and %d more changed lines\n", shown-maxLines)
	}
	return b.String()
}

// TestPresetOnlyNamesSkeletonFiles keeps the preset table honest: an entry
// for a file the skeleton no longer has would silently stop applying.
func TestPresetOnlyNamesSkeletonFiles(t *testing.T) {
	for p, db := range presetOnly {
		assert.NoError(t, ValidateDB(db), "presetOnly[%q]", p)
		_, err := fs.Stat(embedded.skeleton, strings.TrimSuffix(p, "/"))
		assert.NoError(t, err, "presetOnly names %q, which the skeleton lacks", p)
	}
}
