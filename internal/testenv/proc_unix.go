//go:build unix && !linux

package testenv

import "syscall"

// OwnGroup is how tests start a server, or envpipe itself: in its own
// process group, so that signals reach it and its children only. (No
// parent-death signal outside Linux: a test binary that dies leaves its
// servers running.)
func OwnGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
