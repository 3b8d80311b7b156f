package generator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write creates target holding files. target must not exist, or be an empty
// directory, and its parent must exist. The files are written and synced
// inside a temporary directory beside target, on the same filesystem, then
// renamed into place: on failure or cancellation of ctx nothing is left
// behind, and no reader ever sees a half-written project.
func Write(ctx context.Context, files []File, target string) error {
	return osWriter.write(ctx, files, target)
}

// writer holds the one step a test needs to make fail: writing a file.
type writer struct {
	writeFile func(name string, data []byte, perm fs.FileMode) error
}

var osWriter = writer{writeFile: writeNewFile}

func (w writer) write(ctx context.Context, files []File, target string) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write project: %w", err)
	}
	if err := checkPaths(files); err != nil {
		return fmt.Errorf("write project: %w", err)
	}
	target, err = filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("write project: %w", err)
	}
	existed, err := checkTarget(target)
	if err != nil {
		return err
	}
	parent := filepath.Dir(target)
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(target)+".quickscale-")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || isReadOnly(err) {
			return &InputError{Field: "target", Problem: fmt.Sprintf("cannot create files in %s (%v)", parent, unwrapPath(err)), Fix: "choose a directory you can write to"}
		}
		return fmt.Errorf("write project: create temporary directory: %w", err)
	}
	defer func() {
		if err != nil {
			if rmErr := os.RemoveAll(staging); rmErr != nil {
				err = errors.Join(err, fmt.Errorf("remove temporary directory %s: %w", staging, rmErr))
			}
		}
	}()

	markTopDir(staging)
	// The root is created inside staging with an ordinary Mkdir so that it
	// gets the user's umask, unlike the 0700 directory MkdirTemp makes.
	root := filepath.Join(staging, filepath.Base(target))
	if err := os.Mkdir(root, 0o755); err != nil {
		return fmt.Errorf("write project: %w", err)
	}
	dirs := map[string]bool{root: true}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write project: %w", err)
		}
		name := filepath.Join(root, filepath.FromSlash(f.Path))
		dir := filepath.Dir(name)
		if !dirs[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write project: %w", err)
			}
			for d := dir; d != root && !dirs[d]; d = filepath.Dir(d) {
				dirs[d] = true
			}
		}
		if err := w.writeFile(name, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write project: %w", err)
		}
	}
	// Files and directory entries must be durable before the rename
	// publishes them, or a crash could leave a project of empty files.
	if err := syncTree(ctx, root); err != nil {
		return fmt.Errorf("write project: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write project: %w", err)
	}
	if existed {
		// os.Remove refuses a directory that is no longer empty, so a file
		// created there since checkTarget is never lost.
		if err := os.Remove(target); err != nil {
			if isNotEmpty(err) {
				return &InputError{Field: "target", Problem: fmt.Sprintf("%s was filled by something else while the project was being written", target), Fix: "choose another name or directory, or remove it first"}
			}
			return fmt.Errorf("write project: replace empty directory %s: %w", target, err)
		}
	}
	if err := os.Rename(root, target); err != nil {
		if existed {
			_ = os.Mkdir(target, 0o755) // put back the empty directory the user gave
		}
		if isNotEmpty(err) {
			return &InputError{Field: "target", Problem: fmt.Sprintf("%s was filled by something else while the project was being written", target), Fix: "choose another name or directory, or remove it first"}
		}
		return fmt.Errorf("write project: move %s into place: %w", target, err)
	}
	// The project is in place; what remains cannot undo that, so a failure
	// is reported as such rather than as a failed write.
	if err := os.Remove(staging); err != nil {
		return fmt.Errorf("project written to %s, but its empty temporary directory %s could not be removed (%w); remove it by hand", target, staging, err)
	}
	if err := syncPath(parent); err != nil {
		return fmt.Errorf("project written to %s, but it may not survive a crash: %w", target, err)
	}
	return nil
}

// CheckTarget reports the problem Write would find with target before
// writing anything: a non-empty directory, a file, a missing parent. It
// writes nothing, so a dry run can give the same answer as the real run.
func CheckTarget(target string) error {
	target, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("check project directory: %w", err)
	}
	_, err = checkTarget(target)
	return err
}

// checkTarget enforces the write policy and reports whether target exists
// (as an empty directory).
func checkTarget(target string) (existed bool, err error) {
	info, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist) || isNotDir(err):
		return false, checkParent(filepath.Dir(target))
	case err != nil:
		return false, fmt.Errorf("write project: %w", err)
	case info.Mode()&fs.ModeSymlink != 0:
		return false, &InputError{Field: "target", Problem: fmt.Sprintf("%s is a symbolic link", target), Fix: "choose a new directory name, or remove the link first"}
	case !info.IsDir():
		return false, &InputError{Field: "target", Problem: fmt.Sprintf("%s already exists and is not a directory", target), Fix: "choose another name or directory, or remove the file first"}
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return false, fmt.Errorf("write project: %w", err)
	}
	if len(entries) > 0 {
		return false, &InputError{Field: "target", Problem: fmt.Sprintf("directory %s already exists and is not empty", target), Fix: "choose another name or directory, or empty it first"}
	}
	return true, nil
}

func checkParent(parent string) error {
	info, err := os.Stat(parent)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &InputError{Field: "target", Problem: fmt.Sprintf("parent directory %s does not exist", parent), Fix: "create it first, or choose another location"}
	case err != nil && isNotDir(err):
		return &InputError{Field: "target", Problem: fmt.Sprintf("%s is not a directory", existingAncestor(parent)), Fix: "choose a location inside a directory"}
	case err != nil:
		return fmt.Errorf("write project: %w", err)
	case !info.IsDir():
		return &InputError{Field: "target", Problem: fmt.Sprintf("%s is not a directory", parent), Fix: "choose a location inside a directory"}
	}
	return nil
}

// existingAncestor returns the nearest of dir and its parents that exists,
// which is the culprit when a path fails with "not a directory".
func existingAncestor(dir string) string {
	for {
		if _, err := os.Lstat(dir); err == nil || filepath.Dir(dir) == dir {
			return dir
		}
		dir = filepath.Dir(dir)
	}
}

// writeNewFile writes a file that must not exist yet; O_EXCL guards against
// anything appearing where the staging tree should be alone.
func writeNewFile(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncPath(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return f.Close()
}

// unwrapPath drops the operation and path from an *fs.PathError, which the
// surrounding message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
