//go:build !linux

package pgtest

import "syscall"

// sysProcAttr runs a child as cred (if not nil). Without Linux's
// parent-death signal, a server outlives a test process that is killed.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
