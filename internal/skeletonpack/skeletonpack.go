// Package skeletonpack decides which files of the app skeleton a generated
// project gets, and packs them into the archive quickscale embeds.
//
// The skeleton is a Go module of its own (templates/skeleton), and go:embed
// skips any directory that holds a go.mod, so quickscale embeds this archive
// instead of the directory.
package skeletonpack

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/quickscale/quickscale/internal/ignorefile"
)

// IgnoreFile is the skeleton's own .gitignore. What a generated project
// would not commit (its .env, its data directory, build output) is what
// running the skeleton in place leaves behind, so it is not packed either.
const IgnoreFile = ".gitignore"

// Files returns the paths, slash-separated and sorted, of the skeleton
// files under dir that its IgnoreFile does not ignore, outside any .git
// directory.
func Files(dir string) ([]string, error) {
	fsys := os.DirFS(dir)
	var rules ignorefile.Rules
	switch data, err := fs.ReadFile(fsys, IgnoreFile); {
	case err == nil:
		if rules, err = ignorefile.Parse(data); err != nil {
			return nil, fmt.Errorf("read %s: %w", path.Join(dir, IgnoreFile), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		// A skeleton someone ran `git init` in: git never tracks its own
		// directory, so neither does the pack.
		if rules.Ignores(p, d.IsDir()) || d.IsDir() && d.Name() == ".git" {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			files = append(files, p)
		default:
			return fmt.Errorf("skeleton file %s is not a regular file (a link?); the generator copies only regular files", p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the skeleton in %s: %w", dir, err)
	}
	slices.Sort(files)
	return files, nil
}

// packTime is every entry's modification time, so the same files always
// make the same archive (and Go's build cache stays valid).
var packTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Pack returns a zip archive of the files at paths under dir, stored
// uncompressed: the archive is read at every quickscale init, and
// decompressing would cost more than the bytes it saves in the binary.
func Pack(dir string, paths []string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range paths {
		data, err := os.ReadFile(path.Join(dir, p))
		if err != nil {
			return nil, fmt.Errorf("pack the skeleton: %w", err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p, Method: zip.Store, Modified: packTime})
		if err != nil {
			return nil, fmt.Errorf("pack the skeleton: %s: %w", p, err)
		}
		if _, err := w.Write(data); err != nil {
			return nil, fmt.Errorf("pack the skeleton: %s: %w", p, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("pack the skeleton: %w", err)
	}
	return buf.Bytes(), nil
}
