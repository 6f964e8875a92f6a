#!/usr/bin/env bash
# Makes, once, a Debian bookworm root of a foreign architecture for the
# package tests (scripts/packaging/deb_test.go), and caches it:
#
#   debroot.sh ARCH     # arm64 or armhf; prints the cached root's path
#
# The root is debootstrap's minbase plus what bk-gateway's package depends on
# (adduser and Debian's FFmpeg runtime libraries), from the Debian mirror
# the machine's apt uses (override with BK_DEBROOT_MIRROR). It is built in a
# temporary directory next to the cache and renamed into place when
# complete, under an exclusive lock ($cache/ARCH.lock), so two runs never
# race and a half-built root is never used. Readers take the same lock
# shared while they copy the root (the test copies it for every run, so
# each run starts from a clean root).
#
# The second stage of debootstrap runs the root's own programs, which need
# qemu-user to run here. This script must therefore run where the kernel
# runs foreign binaries through qemu, as root: in a user, mount and PID
# namespace with a binfmt_misc of its own (Linux 6.7 or later) where
# qemu-<arch>-static is registered, leaving the machine's alone
# (scripts/packaging/qemuns). make debroot does it:
#
#   go run ./scripts/packaging/cmd/in-qemu-ns aarch64 bash scripts/debroot.sh arm64
#
# A first run takes long (half an hour on a busy 2-core machine: every
# package is configured under qemu); make test runs it before go test, so
# that the package test finds the root made.
#
# Settings (environment): BK_DEBROOT_CACHE (default /var/cache/bk-debroot),
# BK_DEBROOT_MIRROR (default: the first Debian URI in /etc/apt/sources.list.d,
# else http://deb.debian.org/debian).
set -euo pipefail

arch=${1:?usage: debroot.sh ARCH (arm64 or armhf)}
case $arch in
  arm64 | armhf) ;;
  *) echo "debroot: unknown architecture $arch (want arm64 or armhf)" >&2; exit 2 ;;
esac
cache=${BK_DEBROOT_CACHE:-/var/cache/bk-debroot}
root=$cache/$arch
# What the root holds besides minbase; a root made with another list is
# made again.
include=adduser,libavcodec59,libswscale6,libavutil57
stamp="bookworm minbase $include"

mirror=${BK_DEBROOT_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/\{0,1\} *$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

fresh() { [ -f "$root/.bk-debroot" ] && [ "$(cat "$root/.bk-debroot")" = "$stamp" ]; }

mkdir -p "$cache"
if fresh; then
  echo "$root"
  exit 0
fi
exec 9>"$cache/$arch.lock"
flock -w 3600 9 || { echo "debroot: $cache/$arch.lock held for an hour" >&2; exit 1; }
if fresh; then # made while we waited
  echo "$root"
  exit 0
fi

rm -rf "$cache/.$arch."* # a run killed while building (we hold the lock)
command -v debootstrap >/dev/null || { echo "debroot: debootstrap not found (scripts/deps.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d "$cache/.$arch.XXXXXX")
cleanup() {
  for m in dev proc; do umount -l "$tmp/$m" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "debroot: debootstrap bookworm $arch from $mirror into $tmp (once; cached in $root)" >&2
# container=lxc: debootstrap then binds /dev's nodes instead of making
# them (a user namespace may not mknod), and skips its mknod check.
# The downloaded packages are kept in $cache/debs-ARCH for the next build.
mkdir -p "$cache/debs-$arch"
container=lxc debootstrap --foreign --arch="$arch" --variant=minbase --include="$include" \
  --cache-dir="$cache/debs-$arch" bookworm "$tmp" "$mirror" >&2
# The first stage leaves its /dev bound for the second; make our own.
umount -l "$tmp/dev" 2>/dev/null || true
bind_dev() { # root
  mount -t tmpfs -o mode=0755,size=1m tmpfs "$1/dev"
  local d
  for d in null zero full random urandom tty; do
    touch "$1/dev/$d"
    mount --bind "/dev/$d" "$1/dev/$d"
  done
}
bind_dev "$tmp"
rm -rf "$tmp/proc" && mkdir -p "$tmp/proc"
mount -t proc proc "$tmp/proc"
container=lxc chroot "$tmp" /debootstrap/debootstrap --second-stage >&2
# (the second stage may have unmounted its /proc itself)
umount -l "$tmp/proc" 2>/dev/null || true
umount -l "$tmp/dev" 2>/dev/null || true
rm -rf "${tmp:?}/dev/"* "$tmp/var/cache/apt/archives/"*.deb
echo "$stamp" >"$tmp/.bk-debroot"

rm -rf "$root.old"
[ -e "$root" ] && mv "$root" "$root.old"
mv -T "$tmp" "$root"
rm -rf "$root.old"
trap - EXIT
echo "$root"
