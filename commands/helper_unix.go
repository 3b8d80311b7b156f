//go:build unix

package commands

import (
	"fmt"
	"syscall"
)

// execHelper replaces this process with the helper: same process ID,
// terminal, signals and exit status, as if the user had started it.
func execHelper(path string, args, env []string) error {
	err := syscall.Exec(path, append([]string{path}, args...), env)
	return fmt.Errorf("run %s: %w", path, err)
}
