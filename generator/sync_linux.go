package generator

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncTree makes names, every file and directory written under root,
// durable. One syncfs writes back the whole filesystem in a single pass and
// a single journal commit, where a fsync per name would cost a commit each:
// for the skeleton's couple of hundred files that is most of init's time.
func syncTree(ctx context.Context, root string, names []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(root)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", root, err)
	}
	return nil
}
