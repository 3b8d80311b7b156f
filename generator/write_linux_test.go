package generator

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteReadOnlyFilesystem mounts a read-only tmpfs, which stops root as
// well: the message must say so, not report an internal failure.
func TestWriteReadOnlyFilesystem(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, "size=1m"); err != nil {
		t.Skipf("cannot mount a read-only tmpfs here (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		assert.NoError(t, syscall.Unmount(dir, 0), "unmount %s", dir)
	})
	files := []File{{Path: "go.mod", Mode: 0o644, Data: []byte("module example.com/my-app\n")}}
	err := Write(context.Background(), files, filepath.Join(dir, "my-app"))
	var ie *InputError
	require.ErrorAs(t, err, &ie, "Write onto a read-only filesystem")
	require.Contains(t, err.Error(), "read-only file system", "the InputError does not name the read-only filesystem")
	assertEntries(t, dir)
}
