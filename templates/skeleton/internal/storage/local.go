package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// tempDir holds uploads being written, inside the root: a rename from
// there into place is atomic, and no key can name it (CheckKey refuses a
// segment starting with '.').
const tempDir = ".tmp"

// Local keeps objects as files under one directory, opened as an os.Root
// so that no name, symbolic link included, resolves outside it. The
// directory is made on the first write: a command that stores nothing
// leaves nothing behind.
type Local struct {
	dir  string
	mu   sync.Mutex
	root *os.Root
}

// NewLocal returns the store rooted at dir.
func NewLocal(dir string) *Local { return &Local{dir: dir} }

// open returns the root, creating the directory first if create is set;
// without it, a missing directory is fs.ErrNotExist.
func (l *Local) open(create bool) (*os.Root, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.root != nil {
		return l.root, nil
	}
	if create {
		if err := os.MkdirAll(filepath.Join(l.dir, tempDir), 0o700); err != nil {
			return nil, fmt.Errorf("create the storage directory %s: %w", l.dir, err)
		}
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return nil, fmt.Errorf("open the storage directory %s: %w", l.dir, err)
	}
	l.root = root
	return root, nil
}

// Close releases the root directory.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.root == nil {
		return nil
	}
	err := l.root.Close()
	l.root = nil
	return err
}

// Put writes to a temporary file and renames it into place once all size
// bytes are on disk, so a reader never sees half a file.
func (l *Local) Put(_ context.Context, key string, r io.Reader, size int64, _ string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	root, err := l.open(true)
	if err != nil {
		return err
	}
	if err := root.MkdirAll(tempDir, 0o700); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	tmp := path.Join(tempDir, rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	err = writeExactly(f, r, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.MkdirAll(path.Dir(key), 0o700)
	}
	if err == nil {
		err = root.Rename(tmp, key)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// SweepTemp removes what Put left in its temporary directory before
// cutoff: writes a crash stopped half way. It returns how many it
// removed.
func (l *Local) SweepTemp(cutoff time.Time) (int, error) {
	root, err := l.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return removeOlder(root, tempDir, cutoff)
}

// RemoveStale removes the entries of dir last written before cutoff, and
// returns how many it removed; a missing dir holds none.
func RemoveStale(dir string, cutoff time.Time) (int, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()
	return removeOlder(root, ".", cutoff)
}

func removeOlder(root *os.Root, dir string, cutoff time.Time) (int, error) {
	entries, err := fs.ReadDir(root.FS(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", dir, err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := root.RemoveAll(path.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// writeExactly copies size bytes from r to f and syncs them to disk.
func writeExactly(f *os.File, r io.Reader, size int64) error {
	if n, err := io.CopyN(f, r, size); err != nil {
		return fmt.Errorf("got %d of %d bytes: %w", n, size, err)
	}
	return f.Sync()
}

// Open returns the file itself, an *os.File, which seeks.
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	root, err := l.open(false)
	if err != nil {
		return nil, Info{}, notFound(key, err)
	}
	f, err := root.Open(key)
	if err != nil {
		return nil, Info{}, notFound(key, err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, notFound(key, err)
	}
	return f, localInfo(key, st), nil
}

// Stat describes the file under key.
func (l *Local) Stat(_ context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	root, err := l.open(false)
	if err != nil {
		return Info{}, notFound(key, err)
	}
	st, err := root.Stat(key)
	if err != nil || !st.Mode().IsRegular() {
		return Info{}, notFound(key, err)
	}
	return localInfo(key, st), nil
}

// Delete removes the file under key.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	root, err := l.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Walk visits the files under prefix, never the temporary ones.
func (l *Local) Walk(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	root, err := l.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Walk from the deepest directory the prefix names in full.
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i > 0 {
		start = prefix[:i]
	}
	err = fs.WalkDir(root.FS(), start, func(name string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist) && name == start:
			return fs.SkipAll
		case err != nil:
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case d.IsDir() && name == tempDir:
			return fs.SkipDir
		case d.IsDir() || !strings.HasPrefix(name, prefix):
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		return fn(localInfo(name, st))
	})
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}

func localInfo(key string, st fs.FileInfo) Info {
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}
}

func notFound(key string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("open %s: %w", key, err)
}
