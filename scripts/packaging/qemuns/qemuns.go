// Package qemuns runs commands where the kernel hands a foreign
// architecture's programs to qemu-user, as binfmt_misc does on a machine set
// up for it, without changing the machine: each command runs in a user,
// mount and PID namespace of its own whose binfmt_misc (Linux 6.7 gives
// each user namespace one) has qemu-<arch>-static registered. The
// namespace's user and group ids 0 to 65535 are the machine's, so files
// made there have their real owners, and its root is the machine's root
// (which is why it needs root to start).
//
// This is what installing a package into an arm64 Debian root takes: dpkg
// starts the root's maintainer scripts itself, so running the first
// program through qemu by hand is not enough. scripts/debroot.sh and the
// package test (scripts/packaging) use it.
package qemuns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// magic is each architecture's binfmt_misc magic and mask, as Debian's
// qemu-user-static registers them, in the register file's escaped form.
var magic = map[string]string{
	"aarch64": `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
	"arm":     `\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
}

// prelude sets up the namespace before it runs the command: mounts made
// there stay there, and its own binfmt_misc gets the qemu handler (flag F:
// the interpreter is opened now, so it works inside a chroot that has no
// copy of qemu).
const prelude = `set -e
mount --make-rprivate /
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
printf '%s' "$BK_BINFMT" >/proc/sys/fs/binfmt_misc/register
unset BK_BINFMT
exec "$@"`

// Command returns the command args (a program and its arguments) to run in
// a new namespace where arch's (qemu's name: aarch64 or arm) programs run
// under qemu-<arch>-static. It dies with its parent.
func Command(ctx context.Context, arch string, args ...string) (*exec.Cmd, error) {
	m, ok := magic[arch]
	if !ok {
		return nil, fmt.Errorf("qemuns: unknown architecture %q (want aarch64 or arm)", arch)
	}
	qemu, err := exec.LookPath("qemu-" + arch + "-static")
	if err != nil {
		return nil, fmt.Errorf("qemuns: %w (Debian: qemu-user-static)", err)
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", prelude, "qemu-ns"}, args...)...)
	cmd.Env = append(os.Environ(), "BK_BINFMT=:bk-qemu-"+arch+":M::"+m+":"+qemu+":F")
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		UidMappings:                ids,
		GidMappings:                ids,
		GidMappingsEnableSetgroups: true,
		Pdeathsig:                  syscall.SIGKILL,
	}
	return cmd, nil
}
