#!/usr/bin/env bash
# Runs CI (.ci/run) from a clean clone of this repository's HEAD inside a
# fresh Debian bookworm root made with debootstrap (entered with
# pivot_root in a mount namespace, see in_root), so that nothing installed
# by hand on this machine can make it pass. The root gets only what a new
# machine of our kind starts with (Go at /usr/local/go, gcc, git, make,
# Node.js with npm, python3, curl); scripts/deps.sh must install the rest
# from Debian's packages and the Go module proxy, as on a new machine.
#
#   bash scripts/fresh-check.sh     # as root: debootstrap, namespaces and mount need it
#
# The debootstrapped base is cached in $FRESH_BASE (default
# /var/cache/bk-fresh/root) and copied for every run to $FRESH_RUN (default
# /var/tmp/bk-fresh/run), which the next run replaces. The log is
# $FRESH_RUN.log. Exit status is .ci/run's.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile); used by .ci/run in the root
cd "$(dirname "$0")/.."
repo=$PWD

[ "$(id -u)" -eq 0 ] || { echo "fresh-check: run as root (debootstrap, namespaces and mount need it)" >&2; exit 2; }
base=${FRESH_BASE:-/var/cache/bk-fresh/root}
run=${FRESH_RUN:-/var/tmp/bk-fresh/run}
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi

# in_root DIR COMMAND...: runs COMMAND with DIR as its root, in a mount
# namespace of its own whose root DIR is made by pivot_root. Not chroot:
# the kernel refuses a chrooted process a new user namespace (EPERM from
# clone), which the package test's qemu namespace needs
# (scripts/packaging/qemuns); a namespace's own root is not chrooted.
in_root() {
  unshare --mount --fork -- /bin/sh -c 'set -e
    mount --make-rprivate /
    mount --rbind "$1" "$1"
    cd "$1"
    mkdir -p .old-root
    pivot_root . .old-root
    cd /
    [ -e /proc/self ] || mount -t proc proc /proc # umount reads it
    umount -l /.old-root
    rmdir /.old-root
    shift
    exec /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
      PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"' in-root "$@"
}

if [ ! -e "$base/.bk-base" ]; then
  echo "fresh-check: debootstrap bookworm into $base (once)"
  rm -rf "$base" && mkdir -p "$base"
  debootstrap --variant=minbase bookworm "$base" "$mirror"
  cp /etc/resolv.conf "$base/etc/resolv.conf"
  in_root "$base" apt-get update -q
  in_root "$base" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    gcc g++ libc6-dev make git ca-certificates curl python3 xz-utils procps
  touch "$base/.bk-base"
fi

# A fresh copy of the base for this run.
for m in dev/shm dev/pts dev sys proc; do umount -l "$run/$m" 2>/dev/null || true; done
rm -rf "$run" && mkdir -p "$(dirname "$run")"
cp -a "$base" "$run"
cleanup() { for m in dev/shm dev/pts dev sys proc; do umount -l "$run/$m" 2>/dev/null || true; done; }
trap cleanup EXIT

# What a new machine of our kind has besides Debian: its own Go (not the
# approved one: GOTOOLCHAIN fetches that), Node.js and npm, its go env and
# npm settings, its resolver and apt sources.
cp -a /usr/local/go "$run/usr/local/go"
cp -a "$(readlink -f /usr/bin/node)" "$run/usr/bin/node"
mkdir -p "$run/usr/lib/node_modules"
cp -a /usr/lib/node_modules/npm "$run/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$run/usr/bin/npm"
cp /etc/resolv.conf "$run/etc/resolv.conf"
if compgen -G '/etc/apt/sources.list.d/*' >/dev/null; then # the machine's mirrors replace debootstrap's
  cp -a /etc/apt/sources.list.d/. "$run/etc/apt/sources.list.d/" && rm -f "$run/etc/apt/sources.list"
fi
[ -f /root/.npmrc ] && cp /root/.npmrc "$run/root/.npmrc"
for f in /etc/npmrc /usr/etc/npmrc; do [ -f "$f" ] && mkdir -p "$run${f%/*}" && cp "$f" "$run$f"; done
# The machine's own certificate authorities (a network that inspects TLS
# has its CA there) and the variables that point tools at them.
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  cp -a /usr/local/share/ca-certificates/. "$run/usr/local/share/ca-certificates/"
  in_root "$run" update-ca-certificates >/dev/null
fi
ca_env=()
for v in SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO CURL_CA_BUNDLE; do
  [ -n "${!v:-}" ] && ca_env+=("$v=${!v}")
done
if [ -f /root/.config/go/env ]; then mkdir -p "$run/root/.config/go" && cp /root/.config/go/env "$run/root/.config/go/env"; fi

mount -t proc proc "$run/proc"
mount -t sysfs sys "$run/sys"
mount --bind /dev "$run/dev"
mount -t devpts devpts "$run/dev/pts" -o newinstance,ptmxmode=0666 || mount --bind /dev/pts "$run/dev/pts"
mount -t tmpfs -o size=2g tmpfs "$run/dev/shm"

git clone -q --no-local "$repo" "$run/root/brightkitchen"
echo "fresh-check: .ci/run on $(git -C "$repo" rev-parse --short HEAD) in $run (log $run.log)"
start=$(date +%s)
set +e
in_root "$run" "${ca_env[@]}" CI=true bash -c 'cd /root/brightkitchen && bash .ci/run' 2>&1 | tee "$run.log"
rc=${PIPESTATUS[0]}
set -e
echo "fresh-check: exit $rc after $(( $(date +%s) - start )) s"
exit "$rc"
