package generator

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncTree makes every file and directory under root durable. One syncfs
// writes back the whole filesystem in a single pass, where a fsync per file
// and directory waits for the disk a couple of hundred times: that was most
// of init's time.
func syncTree(ctx context.Context, root string) error {
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
