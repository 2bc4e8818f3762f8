package pgtest

import "syscall"

// sysProcAttr runs a child as cred (if not nil) and, on Linux, has the
// kernel send it SIGQUIT (PostgreSQL's immediate shutdown) if the thread
// that started it exits.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
