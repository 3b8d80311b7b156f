//go:build !linux

package dbtest

import "syscall"

// sysProcAttr runs a child as the current user: switching users is only
// supported on Linux, so run the tests as a user other than root.
func sysProcAttr(cred *credential) *syscall.SysProcAttr {
	_ = cred
	return nil
}
