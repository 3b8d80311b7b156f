//go:build !linux

package generator

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync"
)

// syncTree makes every file and directory under root durable. Without
// syncfs that takes one fsync each.
func syncTree(ctx context.Context, root string) error {
	var names []string
	err := filepath.WalkDir(root, func(name string, _ fs.DirEntry, err error) error {
		names = append(names, name)
		return err
	})
	if err != nil {
		return err
	}
	return syncAll(ctx, names)
}

// syncWorkers bounds the concurrent fsyncs. Issued together they share
// journal commits, which makes syncing a whole project several times
// faster than one file after another.
const syncWorkers = 16

// syncAll flushes every named file or directory to disk.
func syncAll(ctx context.Context, names []string) error {
	work := make(chan string)
	errs := make(chan error, syncWorkers)
	var wg sync.WaitGroup
	for range min(syncWorkers, len(names)) {
		wg.Go(func() {
			var first error
			for name := range work {
				if err := syncPath(name); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		})
	}
feed:
	for _, name := range names {
		select {
		case work <- name:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
