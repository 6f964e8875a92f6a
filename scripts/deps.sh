#!/usr/bin/env bash
# Installs what BrightKitchen's build, tests and demo need on Debian 12.
# Idempotent: installs only what is missing, and does nothing when all is there.
set -euo pipefail

# Debian packages, each with a file that shows it is installed.
declare -A want=(
  [ffmpeg]=/usr/bin/ffmpeg
  [libavcodec-dev]=/usr/include/x86_64-linux-gnu/libavcodec/avcodec.h
  [libavformat-dev]=/usr/include/x86_64-linux-gnu/libavformat/avformat.h
  [libswscale-dev]=/usr/include/x86_64-linux-gnu/libswscale/swscale.h
  [libavutil-dev]=/usr/include/x86_64-linux-gnu/libavutil/avutil.h
  [pkg-config]=/usr/bin/pkg-config
  [mosquitto]=/usr/sbin/mosquitto
  [qemu-user-static]=/usr/bin/qemu-aarch64-static
  [gcc-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-gcc
  [gcc-arm-linux-gnueabihf]=/usr/bin/arm-linux-gnueabihf-gcc
  # --no-install-recommends leaves out the cross C libraries the compilers
  # recommend; cgo cross builds need their headers.
  [libc6-dev-arm64-cross]=/usr/aarch64-linux-gnu/include/stdio.h
  [libc6-dev-armhf-cross]=/usr/arm-linux-gnueabihf/include/stdio.h
  [protobuf-compiler]=/usr/bin/protoc
  [chromium]=/usr/bin/chromium
  [fonts-wqy-microhei]=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  [postgresql]=/usr/lib/postgresql
  [npm]=/usr/bin/npm
  # make deb's tests: an arm64 Debian root (scripts/debroot.sh) and the
  # units' check (systemd-analyze verify).
  [debootstrap]=/usr/sbin/debootstrap
  [systemd]=/usr/bin/systemd-analyze
)

# apt_update refreshes the package lists, three tries: a mirror caught in
# the middle of a sync serves an index of the wrong size, and apt-get update
# then fails although a minute later it would not. After the third failure
# it goes on with the lists it has; the install says what is missing.
apt_update() {
  local i
  for i in 1 2 3; do
    $SUDO apt-get update -qq && return 0
    echo "deps: apt-get update failed (try $i of 3)" >&2
    [ "$i" -lt 3 ] && sleep $((20 * i))
  done
  return 0
}

missing=()
for pkg in "${!want[@]}"; do
  [ -e "${want[$pkg]}" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start at install time (containers have no init; the
  # tests start their own mosquitto and postgres on random loopback ports).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_update
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Multiarch FFmpeg dev packages for the cgo cross builds (scripts/cross.sh)
# of linux/arm64 and linux/arm/v7. They must be the same version as the
# amd64 ones, so apt may upgrade shared amd64 libraries along with them.
for arch in arm64 armhf; do
  case $arch in
    arm64) triplet=aarch64-linux-gnu ;;
    armhf) triplet=arm-linux-gnueabihf ;;
  esac
  pc=/usr/lib/$triplet/pkgconfig
  [ -e "$pc/libavcodec.pc" ] && [ -e "$pc/libswscale.pc" ] && [ -e "$pc/libavutil.pc" ] && continue
  # A mirror whose armhf index is broken stays broken for hours; its three
  # apt updates cost a minute and a half. After a failure, try again only
  # when an hour has passed (remove the stamp to try at once).
  stamp=/var/tmp/bk-deps-$arch-failed
  if [ "$arch" = armhf ] && [ -n "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
    echo "deps: WARNING: the armhf FFmpeg libraries could not be installed less than an hour ago ($stamp):" >&2
    echo "deps: WARNING: no linux/arm/v7 cgo build on this machine until scripts/deps.sh succeeds" >&2
    continue
  fi
  echo "deps: installing libavcodec-dev:$arch libswscale-dev:$arch libavutil-dev:$arch" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx "$arch" || $SUDO dpkg --add-architecture "$arch"
  apt_update
  if ! $SUDO apt-get install -y -qq --no-install-recommends \
    "libavcodec-dev:$arch" "libswscale-dev:$arch" "libavutil-dev:$arch" >/dev/null; then
    [ "$arch" = armhf ] || exit 1
    # The armhf libraries must match the amd64 ones version for version,
    # security updates included; a mirror whose armhf security index is
    # broken cannot give them. The armv7 build is the older boards' only:
    # say so loudly and go on (make cross then refuses armv7, and its
    # qemu test is skipped, saying why).
    touch "$stamp" 2>/dev/null || true
    echo "deps: WARNING: the armhf FFmpeg libraries could not be installed (see apt's error above):" >&2
    echo "deps: WARNING: no linux/arm/v7 cgo build on this machine until scripts/deps.sh succeeds" >&2
  fi
done

command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || {
  echo "deps: Go toolchain not found (expected /usr/local/go/bin/go)" >&2
  exit 1
}

# ONNX Runtime for bk-plugin-onnx (both architectures; checksums pinned).
bash "$(dirname "$0")/onnxruntime.sh"
