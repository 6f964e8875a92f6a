#!/usr/bin/env bash
# Cross-builds Go commands for linux/arm64 and linux/arm/v7 with cgo, against
# Debian's multiarch FFmpeg dev packages (installed by scripts/deps.sh) and
# cross compilers (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf).
#
# Settings (environment):
#   CROSS_ARCHS  architectures to build, default "arm64 armv7"
#   CROSS_PKGS   packages to build, default "./gateway/cmd/bk-gateway
#                ./gateway/cmd/bk-decodecheck" and the built-in detector
#                plugins (bk-plugin-tamper, bk-plugin-motion)
#   CROSS_OUT    output directory, default bin; binaries go to
#                $CROSS_OUT/linux-<arch>/
#   LDFLAGS      go build -ldflags, default "-s -w"
#
# Both are built with cgo: a missing cross compiler or library is an error
# (scripts/deps.sh installs them).
#
# The arm64 binaries run here under qemu without binfmt or -L, through the
# arm64 dynamic loader:
#   timeout 60 qemu-aarch64-static /usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 \
#     --library-path /usr/lib/aarch64-linux-gnu bin/linux-arm64/bk-decodecheck FILE
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

archs=${CROSS_ARCHS:-arm64 armv7}
pkgs=${CROSS_PKGS:-./gateway/cmd/bk-gateway ./gateway/cmd/bk-decodecheck ./plugins/tamper/cmd/bk-plugin-tamper ./plugins/motion/cmd/bk-plugin-motion}
out=${CROSS_OUT:-bin}
ldflags=${LDFLAGS:--s -w}

have_libs() { # multiarch triplet
  local pc=/usr/lib/$1/pkgconfig
  [ -e "$pc/libavcodec.pc" ] && [ -e "$pc/libswscale.pc" ] && [ -e "$pc/libavutil.pc" ]
}

for arch in $archs; do
  case $arch in
    arm64) triplet=aarch64-linux-gnu goarch=arm64 goarm= ;;
    armv7) triplet=arm-linux-gnueabihf goarch=arm goarm=7 ;;
    *) echo "cross: unknown architecture $arch (want arm64 or armv7)" >&2; exit 2 ;;
  esac
  if ! command -v "$triplet-gcc" >/dev/null || ! have_libs "$triplet"; then
    echo "cross: $triplet-gcc or the $arch FFmpeg dev packages are missing; run scripts/deps.sh" >&2
    exit 1
  fi
  mkdir -p "$out/linux-$arch"
  for pkg in $pkgs; do
    echo "cross: linux/$arch $pkg" >&2
    CGO_ENABLED=1 CC=$triplet-gcc \
      PKG_CONFIG_PATH=/usr/lib/$triplet/pkgconfig PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig \
      GOOS=linux GOARCH=$goarch GOARM=$goarm \
      go build -trimpath -ldflags "$ldflags" -o "$out/linux-$arch/" "$pkg"
  done
done
