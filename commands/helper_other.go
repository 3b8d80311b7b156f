//go:build !unix

package commands

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// execHelper runs the helper on this process's streams and hands on its
// exit status. Ctrl-C reaches both processes; quickscale's own handler only
// cancels a context nothing waits on, so it keeps waiting for the helper.
func execHelper(path string, args, env []string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &ExitStatusError{Code: 0}
	case errors.As(err, &exitErr):
		return &ExitStatusError{Code: exitErr.ExitCode()}
	default:
		return fmt.Errorf("run %s: %w", path, err)
	}
}
