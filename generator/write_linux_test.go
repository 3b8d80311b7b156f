package generator

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
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

func dirFlags(t *testing.T, dir string) (uint32, error) {
	t.Helper()
	f, err := os.Open(dir)
	require.NoError(t, err)
	defer f.Close()
	return unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
}

// The staging directory carries chattr +T while the project is written into
// it, so that ext4 places the project away from its parent's neighbours; the
// project keeps no trace of it.
func TestWriteMarksStagingAsTopDir(t *testing.T) {
	parent := t.TempDir()
	probe := filepath.Join(parent, "probe")
	require.NoError(t, os.Mkdir(probe, 0o755))
	markTopDir(probe)
	if flags, err := dirFlags(t, probe); err != nil || flags&fsTopdirFlag == 0 {
		t.Skipf("the filesystem of %s does not take chattr +T (flags %#x, %v)", parent, flags, err)
	}
	require.NoError(t, os.Remove(probe))

	target := filepath.Join(parent, "my-app")
	var stagingFlags uint32
	w := writer{writeFile: func(name string, data []byte, perm fs.FileMode) error {
		if stagingFlags == 0 {
			rel, err := filepath.Rel(parent, name)
			require.NoError(t, err)
			staging := filepath.Join(parent, strings.SplitN(rel, string(filepath.Separator), 2)[0])
			stagingFlags, err = dirFlags(t, staging)
			require.NoError(t, err, "flags of %s", staging)
		}
		return writeNewFile(name, data, perm)
	}}
	files := []File{{Path: "go.mod", Mode: 0o644, Data: []byte("module example.com/my-app\n")}, {Path: "cmd/my-app/main.go", Mode: 0o644, Data: []byte("package main\n")}}
	require.NoError(t, w.write(context.Background(), files, target))
	assert.NotZero(t, stagingFlags&fsTopdirFlag, "the staging directory's flags %#x lack FS_TOPDIR_FL", stagingFlags)
	flags, err := dirFlags(t, target)
	require.NoError(t, err)
	assert.Zero(t, flags&fsTopdirFlag, "the project carries FS_TOPDIR_FL")
}
