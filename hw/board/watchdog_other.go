//go:build !linux

package board

import (
	"errors"
	"os"
)

// Watchdog timeouts are set with Linux ioctls; elsewhere the device keeps
// its own.

func setTimeout(*os.File, int) error   { return errors.ErrUnsupported }
func getTimeout(*os.File) (int, error) { return 0, errors.ErrUnsupported }
