package testenv

import "syscall"

// OwnGroup is how tests start a server, or envpipe itself: in its own
// process group, so that signals reach it and its children only; if the
// test binary dies (panic, timeout), the kernel takes it with it.
func OwnGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
