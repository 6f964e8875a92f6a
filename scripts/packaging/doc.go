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
// qemu-user runs the root's programs through a binfmt_misc handler that
// the test registers in a user namespace of its own (Linux 6.7 or later),
// so the machine's binfmt_misc is never changed; dpkg's maintainer scripts
// are arm64 programs too, started by dpkg, which is why calling qemu by
// hand for the first program is not enough. Only Go code lives here for
// the tests; there is no importable API.
package packaging
