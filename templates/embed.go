// Package templates holds what quickscale writes into a new project: the
// app skeleton, packed.
package templates

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"io/fs"
	"sync"
)

// The skeleton (skeleton/, a Go module of its own, with the front-end files
// in internal/web/static/vendor/) is embedded as one archive because go:embed
// skips any directory that holds a go.mod.
//
// If the build stops here with "no matching files found", the archive is
// missing: run `make assets`, which fetches the front-end files and packs it.
//
//go:embed skeleton.zip
var packed []byte

// Skeleton is the skeleton, file for file, as it stands in skeleton/ less
// what its .gitignore ignores. See docs/ARCHITECTURE.md for what the
// generator rewrites.
//
// The archive's directory is read on first use, not at start: only init
// needs it, and reading it cost every command 0.2 ms and 1,000 allocations.
var Skeleton fs.FS = lazyFS(sync.OnceValue(func() fs.FS { return mustOpen(packed) }))

// lazyFS opens the file system it stands for on the first Open. The
// archive's file system offers Open alone, so nothing is lost by hiding it.
type lazyFS func() fs.FS

func (l lazyFS) Open(name string) (fs.File, error) { return l().Open(name) }

// mustOpen panics only on an archive that the packer did not write.
func mustOpen(data []byte) fs.FS {
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		panic("templates: the packed skeleton is not a zip archive: " + err.Error() + "; run `make assets`")
	}
	return r
}
