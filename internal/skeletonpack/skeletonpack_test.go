package skeletonpack

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(data), 0o644))
	}
	return dir
}

func TestFilesLeavesOutWhatTheSkeletonIgnores(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".gitignore":                 ".env\n/data/\n*.test\n",
		".env":                       "SECRET_KEY=x\n",
		"dot-env.tmpl":               "SECRET_KEY={{.Secrets.SecretKey}}\n",
		"data/app.db":                "db",
		"cmd/skeleton/main.go":       "package main\n",
		"cmd/skeleton/skeleton.test": "binary",
		"cmd/skeleton/data/x":        "kept: only the root data/ is ignored",
		".git/HEAD":                  "ref: refs/heads/main\n",
	})
	files, err := Files(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{".gitignore", "cmd/skeleton/data/x", "cmd/skeleton/main.go", "dot-env.tmpl"}, files)
}

func TestFilesRefusesLinks(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.go": "package a\n"})
	require.NoError(t, os.Symlink("a.go", filepath.Join(dir, "b.go")))
	_, err := Files(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "b.go is not a regular file")
}

func TestFilesRefusesAnUnreadableIgnoreFile(t *testing.T) {
	dir := writeTree(t, map[string]string{".gitignore": "a/**/b\n"})
	_, err := Files(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".gitignore")
}

func TestPackIsStableAndComplete(t *testing.T) {
	files := map[string]string{"go.mod": "module x\n", "cmd/x/main.go": "package main\n"}
	dir := writeTree(t, files)
	paths, err := Files(dir)
	require.NoError(t, err)
	first, err := Pack(dir, paths)
	require.NoError(t, err)
	// Rewritten files with new times must pack to the same bytes.
	dir2 := writeTree(t, files)
	second, err := Pack(dir2, paths)
	require.NoError(t, err)
	assert.Equal(t, first, second, "the same files packed twice differ")

	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	require.NoError(t, err)
	got := map[string]string{}
	for _, f := range zr.File {
		assert.Equal(t, zip.Store, f.Method, f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		got[f.Name] = string(data)
	}
	assert.Equal(t, files, got)
}
