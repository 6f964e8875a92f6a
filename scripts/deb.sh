#!/usr/bin/env bash
# Builds the Debian packages with dpkg-deb into dist/ (make deb):
#
#   bk-gateway_<version>_{amd64,arm64,armhf}.deb  the gateway, bk-decodecheck,
#       the detector plugins, ONNX Runtime's library (amd64 and arm64: there
#       is no armhf build of it, so armhf has no onnx plugin), the systemd
#       unit, the example config, maintainer scripts
#   bk-fleet_<version>_{amd64,arm64}.deb          the fleet server and its unit
#
# What goes where, and what the maintainer scripts do, is in docs/install.md.
#
# Settings (environment):
#   DEB_ARCHS     architectures, default "amd64 arm64 armhf"
#   DEB_PACKAGES  packages, default "bk-gateway bk-fleet" (bk-fleet is made
#                 for amd64 and arm64 only)
#   VERSION       the build's version, stamped into the binaries; default
#                 git describe, as the Makefile does
#   DEB_VERSION   the packages' Debian version; default made from VERSION
#                 (see debversion below)
#   DEB_OUT       output directory, default dist
#   DEB_BIN       where the binaries are built, as linux-<arch>/ (the layout
#                 of scripts/cross.sh), and kept; the go command links a
#                 binary found there again only if it is not what this
#                 tree and VERSION build. Default: a temporary directory
#   DEB_COMPRESS  dpkg-deb compression, default xz
#
# armhf needs Debian's armhf FFmpeg dev packages; where scripts/deps.sh could
# not install them, armhf is left out with a warning (as make cross does).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
repo=$PWD

archs=${DEB_ARCHS:-amd64 arm64 armhf}
packages=${DEB_PACKAGES:-bk-gateway bk-fleet}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
out=${DEB_OUT:-dist}
compress=${DEB_COMPRESS:-xz}
ldflags="-s -w -X github.com/brightkitchen/brightkitchen/internal/version.Version=$version"
pkgdir=$repo/scripts/packaging

# debversion turns git describe's output into a Debian version: v1.2.3 is
# 1.2.3; v1.2.3-rc1 is 1.2.3~rc1 (before 1.2.3); 4 commits after it,
# v1.2.3-4-gabcdef0 is 1.2.3+git4.gabcdef0; a tree with changes adds
# .dirty. With no tag, 0.0.0~git<commits>.g<hash>: ordered by the number
# of commits, and before any tagged release.
debversion() {
  local v=${1#v} dirty="" n h
  case $v in *-dirty) dirty=.dirty v=${v%-dirty} ;; esac
  if [[ $v =~ ^([0-9][0-9A-Za-z.~-]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    v="${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
  elif [[ $v =~ ^[0-9a-f]{7,40}$ ]] || [ "$v" = dev ]; then
    n=$(git rev-list --count HEAD 2>/dev/null || echo 0)
    h=$(git rev-parse --short HEAD 2>/dev/null || echo 0)
    v="0.0.0~git$n.g$h"
  fi
  v=${v//-/\~}
  [[ $v =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "deb: cannot make a Debian version of $1" >&2; return 1; }
  echo "$v$dirty"
}
debver=${DEB_VERSION:-$(debversion "$version")}
[[ $debver =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "deb: DEB_VERSION $debver is not a Debian version" >&2; exit 2; }

command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb not found (Debian: apt-get install dpkg)" >&2; exit 1; }
command -v readelf >/dev/null || { echo "deb: readelf not found (Debian: apt-get install binutils)" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${DEB_BIN:-$work/bin}

have_armhf() { [ -e /usr/lib/arm-linux-gnueabihf/pkgconfig/libavcodec.pc ]; }

# build ARCH PACKAGES...: the commands into $bin/linux-ARCH/ (gateway side
# with cgo, for libavcodec; bk-fleet pure Go, a static binary).
build() {
  local arch=$1 gw=() fleet=0 p
  shift
  for p in "$@"; do
    case $p in
      bk-gateway) gw=(./gateway/cmd/bk-gateway ./gateway/cmd/bk-decodecheck
        ./plugins/tamper/cmd/bk-plugin-tamper ./plugins/motion/cmd/bk-plugin-motion)
        [ "$arch" = armhf ] || gw+=(./plugins/onnx/cmd/bk-plugin-onnx) ;;
      bk-fleet) fleet=1 ;;
    esac
  done
  mkdir -p "$bin/linux-$arch"
  if [ ${#gw[@]} -gt 0 ]; then
    if [ "$arch" = amd64 ]; then
      for p in "${gw[@]}"; do
        echo "deb: linux/amd64 $p" >&2
        CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "$ldflags" -o "$bin/linux-amd64/" "$p"
      done
    else
      local carch=$arch
      [ "$arch" = armhf ] && carch=armv7
      CROSS_ARCHS=$carch CROSS_PKGS="${gw[*]}" CROSS_OUT=$bin LDFLAGS=$ldflags bash scripts/cross.sh
      [ "$carch" = "$arch" ] || cp -a "$bin/linux-$carch/." "$bin/linux-$arch/"
    fi
  fi
  if [ $fleet -eq 1 ]; then
    echo "deb: linux/$arch ./fleet/cmd/bk-fleet" >&2
    CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$bin/linux-$arch/" ./fleet/cmd/bk-fleet
  fi
}

# depends FILES...: the Debian packages the ELF files' NEEDED libraries come
# from, comma-separated. A library not known here is an error, so that no
# dependency goes undeclared.
depends() {
  local f lib deps=()
  for f in "$@"; do
    readelf -h "$f" >/dev/null 2>&1 || continue
    while read -r lib; do
      case $lib in
        libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | libresolv.so.2 | ld-linux*) deps+=("libc6 (>= 2.36)") ;;
        libstdc++.so.6) deps+=("libstdc++6 (>= 12)") ;;
        libgcc_s.so.1) deps+=("libgcc-s1 (>= 12)") ;;
        libonnxruntime.so.1) ;; # shipped in the package
        libavcodec.so.* | libavutil.so.* | libswscale.so.* | libavformat.so.* | libswresample.so.*)
          local name=${lib%%.so.*} so=${lib##*.so.}
          deps+=("$name$so (>= 7:5.1)") ;;
        *) echo "deb: $f needs $lib: which Debian package gives it? (add it to depends in scripts/deb.sh)" >&2; return 1 ;;
      esac
    done < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
  done
  printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}

# control PACKAGE ARCH DEPENDS DESCRIPTION STAGE: the control file.
control() {
  local pkg=$1 arch=$2 deps=$3 desc=$4 stage=$5
  cat >"$stage/DEBIAN/control" <<EOF
Package: $pkg
Version: $debver
Architecture: $arch
Maintainer: BrightKitchen maintainers <maintainers@brightkitchen.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $deps
Recommends: systemd
Section: video
Priority: optional
Homepage: https://github.com/brightkitchen/brightkitchen
Description: $desc
EOF
}

gateway_deb() { # ARCH
  local arch=$1 b=$bin/linux-$1 stage=$work/stage/bk-gateway-$1 ort=""
  rm -rf "$stage"
  install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/bk-gateway/plugins" \
    "$stage/usr/lib/bk-gateway/models" "$stage/lib/systemd/system" "$stage/usr/share/bk-gateway" \
    "$stage/etc/brightkitchen"
  install -m 0755 "$b/bk-gateway" "$b/bk-decodecheck" "$stage/usr/bin/"
  install -m 0755 "$b/bk-plugin-tamper" "$b/bk-plugin-motion" "$stage/usr/lib/bk-gateway/plugins/"
  if [ "$arch" != armhf ]; then
    bash scripts/onnxruntime.sh >&2
    install -m 0755 "$b/bk-plugin-onnx" "$stage/usr/lib/bk-gateway/plugins/"
    install -d -m 0755 "$stage/usr/lib/bk-gateway/lib"
    install -m 0644 "third_party/onnxruntime/linux-$arch/libonnxruntime.so.1" "$stage/usr/lib/bk-gateway/lib/"
    ort="
 the onnx detector plugin with ONNX Runtime 1.30's library,"
  fi
  install -m 0644 "$pkgdir/bk-gateway.service" "$stage/lib/systemd/system/"
  install -m 0644 gateway/config/example.yaml "$stage/usr/share/bk-gateway/gateway.example.yaml"
  install -m 0640 "$pkgdir/deb/bk-gateway/gateway.env" "$stage/etc/brightkitchen/gateway.env"
  install -m 0755 "$pkgdir/deb/bk-gateway/postinst" "$pkgdir/deb/bk-gateway/prerm" "$pkgdir/deb/bk-gateway/postrm" "$stage/DEBIAN/"
  echo /etc/brightkitchen/gateway.env >"$stage/DEBIAN/conffiles"
  local deps
  deps="adduser, $(depends "$stage"/usr/bin/* "$stage"/usr/lib/bk-gateway/plugins/* "$stage"/usr/lib/bk-gateway/lib/*)"
  local desc="BrightKitchen gateway (明厨亮灶 edge)
 Reads a canteen kitchen's IP cameras over RTSP, runs the detector plugins
 on their frames, spools events and sends them to the BrightKitchen fleet
 over MQTT, and publishes live view on request. Includes bk-decodecheck,
 the tamper and motion detector plugins,$ort
 and a hardened systemd unit (Type=notify, WatchdogSec=30s) running as the
 user bk-gateway.
 .
 Config: /etc/brightkitchen/gateway.yaml (made from the example if absent,
 kept across upgrades); data: /var/lib/brightkitchen."
  if [ "$arch" = armhf ]; then
    desc+="
 .
 armhf: no onnx detector plugin and no ONNX Runtime library (ONNX Runtime
 publishes none for 32-bit ARM); the tamper and motion plugins are there."
  fi
  control bk-gateway "$arch" "$deps" "$desc" "$stage"
  dpkg-deb --root-owner-group -Z"$compress" --build "$stage" "$out/bk-gateway_${debver}_$arch.deb" >/dev/null
  echo "$out/bk-gateway_${debver}_$arch.deb"
}

fleet_deb() { # ARCH
  local arch=$1 b=$bin/linux-$1 stage=$work/stage/bk-fleet-$1
  rm -rf "$stage"
  install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/brightkitchen"
  install -m 0755 "$b/bk-fleet" "$stage/usr/bin/"
  install -m 0644 "$pkgdir/bk-fleet.service" "$stage/lib/systemd/system/"
  install -m 0640 "$pkgdir/deb/bk-fleet/fleet.env" "$stage/etc/brightkitchen/fleet.env"
  install -m 0755 "$pkgdir/deb/bk-fleet/postinst" "$pkgdir/deb/bk-fleet/prerm" "$pkgdir/deb/bk-fleet/postrm" "$stage/DEBIAN/"
  echo /etc/brightkitchen/fleet.env >"$stage/DEBIAN/conffiles"
  local deps="adduser"
  local libs
  libs=$(depends "$stage/usr/bin/bk-fleet")
  [ -z "$libs" ] || deps+=", $libs"
  control bk-fleet "$arch" "$deps" "BrightKitchen fleet server (明厨亮灶 fleet)
 The fleet server of BrightKitchen: the embedded MQTT broker the gateways
 connect to, the registry of canteens and cameras, alarms and their review,
 the live-view relay, the web UI and the HTTP API. Runs as the user
 bk-fleet under a hardened systemd unit.
 .
 Settings: /etc/brightkitchen/fleet.env (BK_* variables, kept across
 upgrades); data: /var/lib/brightkitchen-fleet." "$stage"
  dpkg-deb --root-owner-group -Z"$compress" --build "$stage" "$out/bk-fleet_${debver}_$arch.deb" >/dev/null
  echo "$out/bk-fleet_${debver}_$arch.deb"
}

mkdir -p "$out"
for arch in $archs; do
  case $arch in amd64 | arm64 | armhf) ;; *) echo "deb: unknown architecture $arch (want amd64, arm64 or armhf)" >&2; exit 2 ;; esac
  if [ "$arch" = armhf ] && ! have_armhf; then
    echo "deb: WARNING: no armhf packages: the armhf FFmpeg dev packages are missing (scripts/deps.sh could not install them)" >&2
    continue
  fi
  want=()
  for p in $packages; do
    case $p in
      bk-gateway) want+=(bk-gateway) ;;
      bk-fleet) [ "$arch" = armhf ] || want+=(bk-fleet) ;;
      *) echo "deb: unknown package $p (want bk-gateway or bk-fleet)" >&2; exit 2 ;;
    esac
  done
  [ ${#want[@]} -gt 0 ] || continue
  build "$arch" "${want[@]}"
  for p in "${want[@]}"; do
    case $p in
      bk-gateway) gateway_deb "$arch" ;;
      bk-fleet) fleet_deb "$arch" ;;
    esac
  done
done
