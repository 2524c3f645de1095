//go:build unix && !linux

package testenv

import "syscall"

// ownGroup starts a server in its own process group, so that signals reach
// it and its children only. (No parent-death signal outside Linux: a test
// binary that dies leaves its servers running.)
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
