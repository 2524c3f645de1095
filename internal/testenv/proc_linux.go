package testenv

import "syscall"

// ownGroup starts a server in its own process group, so that signals reach
// it and its children only; if the test binary dies (panic, timeout), the
// kernel takes the server with it.
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
