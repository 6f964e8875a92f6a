//go:build linux

package sdk

import (
	"os/exec"
	"syscall"
)

// lockLaunchThread is true where dieWithParent relies on the launching
// thread: Linux delivers the parent-death signal when the *thread* that
// forked the child ends, not the process (golang/go#27505), so Launch forks
// from a goroutine locked to its thread and keeps it there until the plugin
// has exited.
const lockLaunchThread = true

// dieWithParent makes the kernel SIGKILL the plugin when the gateway dies,
// however it dies (SIGKILL and OOM included), so no detector outlives it.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
