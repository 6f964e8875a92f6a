//go:build !linux

package sdk

import "os/exec"

const lockLaunchThread = false

// dieWithParent does nothing where the kernel has no parent-death signal: a
// plugin there ends when the gateway closes it, and may outlive a gateway
// that is killed outright.
func dieWithParent(*exec.Cmd) {}
