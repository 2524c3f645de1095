package testenv

import (
	"os/exec"
	"syscall"
)

// OwnGroup: Windows has no process groups to signal; servers are killed
// outright.
func OwnGroup() *syscall.SysProcAttr { return nil }

func signalGroup(cmd *exec.Cmd, _ syscall.Signal) { _ = cmd.Process.Kill() }
