// Command packskeleton packs the app skeleton into the archive quickscale
// embeds; `make assets` runs it.
//
//	usage: packskeleton SKELETON_DIR ARCHIVE
//
// The archive is rewritten only when its contents change.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quickscale/quickscale/internal/skeletonpack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "packskeleton:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: packskeleton SKELETON_DIR ARCHIVE")
	}
	dir, out := args[0], args[1]
	files, err := skeletonpack.Files(dir)
	if err != nil {
		return err
	}
	packed, err := skeletonpack.Pack(dir, files)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, packed) {
		fmt.Printf("%s is up to date (%d files)\n", out, len(files))
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".skeleton-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(packed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Printf("packed %d files into %s\n", len(files), out)
	return nil
}
