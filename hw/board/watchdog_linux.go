package board

import (
	"os"

	"golang.org/x/sys/unix"
)

// setTimeout asks the driver for a timeout of secs seconds
// (WDIOC_SETTIMEOUT); drivers without it answer ENOTTY or EOPNOTSUPP.
func setTimeout(f *os.File, secs int) error {
	return control(f, func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.WDIOC_SETTIMEOUT, secs) })
}

// getTimeout is the driver's timeout in seconds (WDIOC_GETTIMEOUT), which
// may differ from what was asked: drivers round to what the hardware does.
func getTimeout(f *os.File) (secs int, err error) {
	err = control(f, func(fd int) error {
		secs, err = unix.IoctlGetInt(fd, unix.WDIOC_GETTIMEOUT)
		return err
	})
	return secs, err
}

// control runs op on f's descriptor (without putting f in blocking mode,
// as Fd would).
func control(f *os.File, op func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = op(int(fd)) }); err != nil {
		return err
	}
	return opErr
}
