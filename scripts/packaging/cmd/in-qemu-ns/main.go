// Command in-qemu-ns runs a command where ARCH's programs run under
// qemu-user (see package qemuns), as root:
//
//	go run ./scripts/packaging/cmd/in-qemu-ns aarch64 bash scripts/debroot.sh arm64
//
// Its exit status is the command's.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/brightkitchen/brightkitchen/scripts/packaging/qemuns"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: in-qemu-ns ARCH COMMAND [ARG...]   (ARCH: aarch64 or arm)")
		os.Exit(2)
	}
	cmd, err := qemuns.Command(context.Background(), os.Args[1], os.Args[2:]...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "in-qemu-ns:", err)
		os.Exit(2)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "in-qemu-ns:", err)
		os.Exit(1)
	}
}
