//go:build unix

package commands

import "golang.org/x/sys/unix"

// freeDiskBytes is the space available to this user on dir's filesystem.
func freeDiskBytes(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
