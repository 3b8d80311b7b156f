//go:build unix

package generator

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// currentUmask reads the process umask; tests in this package do not run in
// parallel, so setting it back immediately is safe.
func currentUmask() fs.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}

// assertTree checks that dir holds exactly files, with their contents and
// modes (as reduced by the umask).
func assertTree(t *testing.T, dir string, files []File) {
	t.Helper()
	umask := currentUmask()
	want := fileMap(files)
	var got []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		got = append(got, rel)
		f, ok := want[rel]
		if !assert.True(t, ok, "unexpected file %s", rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		assert.Equal(t, f.Data, data, "%s: content differs from the rendered file", rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		assert.Equal(t, f.Mode&^umask, info.Mode().Perm(), "%s: mode", rel)
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, got, len(files), "wrote %d files, want %d", len(got), len(files))
}

// assertEntries checks that dir holds exactly the named entries: no project,
// no temporary directory.
func assertEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.True(t, slices.Equal(got, want), "%s holds %q, want %q", dir, got, want)
}

func TestWriteCreatesTheProject(t *testing.T) {
	files := mustRender(t, fixture(), opts("postgres"))
	parent := t.TempDir()
	target := filepath.Join(parent, "my-app")
	require.NoError(t, Write(context.Background(), files, target))
	assertTree(t, target, files)
	assertEntries(t, parent, "my-app")
	info, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, 0o755&^currentUmask(), info.Mode().Perm(), "project root mode")
}

func TestWriteIntoEmptyDirectory(t *testing.T) {
	files := mustRender(t, fixture(), opts("sqlite"))
	parent := t.TempDir()
	target := filepath.Join(parent, "my-app")
	require.NoError(t, os.Mkdir(target, 0o755))
	require.NoError(t, Write(context.Background(), files, target))
	assertTree(t, target, files)
	assertEntries(t, parent, "my-app")
}

func TestWriteRelativeTarget(t *testing.T) {
	files := mustRender(t, fixture(), opts("sqlite"))
	parent := t.TempDir()
	t.Chdir(parent)
	require.NoError(t, Write(context.Background(), files, "my-app"))
	assertTree(t, filepath.Join(parent, "my-app"), files)
}

func TestWriteRefusesBadTargets(t *testing.T) {
	files := mustRender(t, fixture(), opts("sqlite"))
	cases := map[string]struct {
		setup func(t *testing.T, parent string) (target string)
		want  string
	}{
		"non-empty directory": {func(t *testing.T, parent string) string {
			mustWrite(t, filepath.Join(parent, "my-app", "keep.txt"))
			return filepath.Join(parent, "my-app")
		}, "already exists and is not empty"},
		"directory holding only a dotfile": {func(t *testing.T, parent string) string {
			mustWrite(t, filepath.Join(parent, "my-app", ".git"))
			return filepath.Join(parent, "my-app")
		}, "already exists and is not empty"},
		"target is a file": {func(t *testing.T, parent string) string {
			mustWrite(t, filepath.Join(parent, "my-app"))
			return filepath.Join(parent, "my-app")
		}, "already exists and is not a directory"},
		"target is a symlink to an empty directory": {func(t *testing.T, parent string) string {
			require.NoError(t, os.Mkdir(filepath.Join(parent, "real"), 0o755))
			require.NoError(t, os.Symlink("real", filepath.Join(parent, "my-app")))
			return filepath.Join(parent, "my-app")
		}, "is a symbolic link"},
		"parent missing": {func(t *testing.T, parent string) string {
			return filepath.Join(parent, "missing", "my-app")
		}, "does not exist"},
		"parent is a file": {func(t *testing.T, parent string) string {
			mustWrite(t, filepath.Join(parent, "file"))
			return filepath.Join(parent, "file", "my-app")
		}, "is not a directory"},
		"grandparent is a file": {func(t *testing.T, parent string) string {
			mustWrite(t, filepath.Join(parent, "file"))
			return filepath.Join(parent, "file", "sub", "my-app")
		}, "file is not a directory"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			target := c.setup(t, parent)
			before := snapshot(t, parent)
			err := Write(context.Background(), files, target)
			var ie *InputError
			require.ErrorAs(t, err, &ie, "Write")
			require.Equal(t, "target", ie.Field, "Write: %v, want an InputError for target", err)
			require.Contains(t, err.Error(), c.want, "Write")
			require.NotEmpty(t, ie.Fix, "Write: %q, want it to say how to fix it", err)
			require.Equal(t, before, snapshot(t, parent), "a refused Write changed the directory")
		})
	}
}

func TestWriteRefusesUnsafePaths(t *testing.T) {
	for _, p := range []string{"../escape", "/abs", "a/../../b"} {
		parent := t.TempDir()
		err := Write(context.Background(), []File{{Path: p, Mode: 0o644}}, filepath.Join(parent, "my-app"))
		assert.Error(t, err, "Write accepted %q", p)
		assertEntries(t, parent)
	}
}

// TestWriteParentNotWritable needs a directory the writer may not write to.
// Permission bits do not stop root, so when the test runs as root it runs
// itself again as the unprivileged user nobody against a root-owned
// directory: the same kernel check an ordinary user meets.
func TestWriteParentNotWritable(t *testing.T) {
	if dir := os.Getenv("GENERATOR_TEST_UNWRITABLE"); dir != "" {
		checkUnwritable(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		parent := t.TempDir()
		require.NoError(t, os.Chmod(parent, 0o555))
		t.Cleanup(func() { os.Chmod(parent, 0o755) })
		checkUnwritable(t, parent)
		return
	}

	// The test binary sits in a private go-build directory; nobody needs a
	// copy it can reach.
	shared, err := os.MkdirTemp("", "generator-unwritable-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(shared) })
	require.NoError(t, os.Chmod(shared, 0o755))
	self, err := os.Executable()
	require.NoError(t, err)
	bin := filepath.Join(shared, "generator.test")
	copyFile(t, self, bin, 0o755)
	parent := filepath.Join(shared, "parent") // root-owned, 0755: nobody may not write
	require.NoError(t, os.Mkdir(parent, 0o755))

	cmd := exec.Command(bin, "-test.run=^TestWriteParentNotWritable$", "-test.v")
	cmd.Dir = shared
	cmd.Env = append(os.Environ(), "GENERATOR_TEST_UNWRITABLE="+parent, "HOME="+shared, "TMPDIR="+os.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "unprivileged run failed\n%s", out)
	require.True(t, bytes.Contains(out, []byte("--- PASS: TestWriteParentNotWritable")), "unprivileged run did not run the check:\n%s", out)
	assertEntries(t, parent)
}

func checkUnwritable(t *testing.T, parent string) {
	// The fixture skeleton is not used: the unprivileged run may not be able
	// to read it.
	files := []File{{Path: "go.mod", Mode: 0o644, Data: []byte("module example.com/my-app\n")}}
	err := Write(context.Background(), files, filepath.Join(parent, "my-app"))
	var ie *InputError
	require.ErrorAs(t, err, &ie, "Write into an unwritable directory")
	require.Equal(t, "target", ie.Field, "Write into an unwritable directory: %v, want an InputError for target", err)
	require.Contains(t, err.Error(), "cannot create files in "+parent, "unhelpful message")
	require.Contains(t, err.Error(), "permission denied", "unhelpful message")
	assertEntries(t, parent)
}

// failingWriter fails the nth file write, as a full disk would.
func failingWriter(n int) (writer, *int) {
	calls := 0
	return writer{writeFile: func(name string, data []byte, perm fs.FileMode) error {
		calls++
		if calls == n {
			return errors.New("no space left on device")
		}
		return writeNewFile(name, data, perm)
	}}, &calls
}

func TestWriteFailureLeavesNothingBehind(t *testing.T) {
	files := mustRender(t, fixture(), opts("postgres"))
	for _, existing := range []bool{false, true} {
		parent := t.TempDir()
		target := filepath.Join(parent, "my-app")
		if existing {
			require.NoError(t, os.Mkdir(target, 0o755))
		}
		w, calls := failingWriter(len(files) / 2)
		err := w.write(context.Background(), files, target)
		require.Error(t, err, "write with a failing disk")
		require.Contains(t, err.Error(), "no space left on device", "write with a failing disk")
		require.Equal(t, len(files)/2, *calls, "write went on after a failure")
		if existing {
			assertEntries(t, parent, "my-app")
			assertEntries(t, target)
		} else {
			assertEntries(t, parent)
		}
	}
}

func TestWriteCancellationLeavesNothingBehind(t *testing.T) {
	files := mustRender(t, fixture(), opts("sqlite"))
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	w := writer{writeFile: func(name string, data []byte, perm fs.FileMode) error {
		calls++
		if calls == 3 {
			cancel() // as Ctrl-C would, between two files
		}
		return writeNewFile(name, data, perm)
	}}
	err := w.write(ctx, files, filepath.Join(parent, "my-app"))
	require.ErrorIs(t, err, context.Canceled, "cancelled write: %v, want context.Canceled", err)
	require.Equal(t, 3, calls, "write went on after cancellation: %d files", calls)
	assertEntries(t, parent)

	require.ErrorIs(t, Write(ctx, files, filepath.Join(parent, "my-app")), context.Canceled, "write with a cancelled context")
	assertEntries(t, parent)
}

// TestWriteNeverClobbersATargetCreatedMeanwhile plays a second quickscale
// init (or anything else) creating the target while this one is writing:
// the rename must fail rather than replace it.
func TestWriteNeverClobbersATargetCreatedMeanwhile(t *testing.T) {
	files := mustRender(t, fixture(), opts("sqlite"))
	for _, existing := range []bool{false, true} {
		parent := t.TempDir()
		target := filepath.Join(parent, "my-app")
		if existing {
			require.NoError(t, os.Mkdir(target, 0o755))
		}
		calls := 0
		w := writer{writeFile: func(name string, data []byte, perm fs.FileMode) error {
			calls++
			if calls == 2 {
				mustWrite(t, filepath.Join(target, "theirs.txt"))
			}
			return writeNewFile(name, data, perm)
		}}
		err := w.write(context.Background(), files, target)
		var ie *InputError
		require.ErrorAs(t, err, &ie, "write over a directory another writer filled meanwhile")
		require.Contains(t, err.Error(), "filled by something else", "write over a directory another writer filled meanwhile")
		assertEntries(t, parent, "my-app")
		assertEntries(t, target, "theirs.txt")
	}
}

func mustWrite(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(t, os.WriteFile(name, []byte("x"), 0o644))
}

func copyFile(t *testing.T, from, to string, mode fs.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, mode))
}

// snapshot lists every path under dir.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var ps []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ps = append(ps, p)
		return nil
	})
	require.NoError(t, err)
	return ps
}

// TestEmbeddedSkeletonWrites renders and writes every preset of the real
// skeleton, so a skeleton that breaks a render or write invariant fails
// here, not in a user's terminal.
func TestEmbeddedSkeletonWrites(t *testing.T) {
	for _, db := range DBs {
		files, err := Render(goldenOptions(db))
		require.NoError(t, err, db)
		target := filepath.Join(t.TempDir(), "my-app")
		require.NoError(t, Write(t.Context(), files, target), "%s", db)
		assertTree(t, target, files)
	}
}
