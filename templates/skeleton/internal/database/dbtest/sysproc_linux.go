package dbtest

import "syscall"

// sysProcAttr runs a child as cred (when set) and has the kernel stop it
// if the test binary dies without running TestMain's cleanup.
func sysProcAttr(cred *credential) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if cred != nil {
		attr.Credential = &syscall.Credential{Uid: cred.uid, Gid: cred.gid}
	}
	return attr
}
