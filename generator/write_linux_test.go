package generator

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteReadOnlyFilesystem mounts a read-only tmpfs, which stops root as
// well: the message must say so, not report an internal failure.
func TestWriteReadOnlyFilesystem(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, "size=1m"); err != nil {
		t.Skipf("cannot mount a read-only tmpfs here (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	files := []File{{Path: "go.mod", Mode: 0o644, Data: []byte("module example.com/my-app\n")}}
	err := Write(context.Background(), files, filepath.Join(dir, "my-app"))
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("Write onto a read-only filesystem: %v, want an InputError naming it", err)
	}
	assertEntries(t, dir)
}
