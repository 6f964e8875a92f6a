// Package packaging holds what the Debian packages are made of, besides
// the binaries: the systemd units (bk-gateway.service, bk-fleet.service),
// the maintainer scripts and conffiles under deb/, and the tests of the
// packages scripts/deb.sh builds from them (make deb).
//
// The tests build the packages and read them back with dpkg-deb (files,
// owners, modes, conffiles, Depends), verify the units found inside them
// with systemd-analyze, and install the arm64 gateway package with dpkg
// into an arm64 Debian bookworm root (scripts/debroot.sh, cached under
// /var/cache/bk-debroot) whose programs run under qemu-user: there
// bk-gateway --version and check run, and an upgrade keeps the config.
//
// qemu-user runs the root's programs through a binfmt_misc handler
// registered in a user namespace of the test's own (package qemuns), so the
// machine's binfmt_misc is never changed; dpkg's maintainer scripts are
// arm64 programs too, started by dpkg, which is why calling qemu by hand
// for the first program is not enough. The root is made by make debroot,
// before go test (cmd/in-qemu-ns runs scripts/debroot.sh there), or by the
// test when it is missing. This package has no code besides its tests.
package packaging
