//go:build unix

package testenv

import (
	"os/exec"
	"syscall"
)

// signalGroup sends sig to cmd's process group (OwnGroup: its id is the
// leader's pid).
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) { _ = syscall.Kill(-cmd.Process.Pid, sig) }
