#!/usr/bin/env bash
# Fetches ONNX Runtime's shared library for linux/amd64 and linux/arm64 into
# third_party/onnxruntime/linux-{amd64,arm64}/libonnxruntime.so.1 (not in
# git; see .gitignore), for bk-plugin-onnx and its tests. The library ships
# inside the npm package onnxruntime-node; `npm pack` downloads the tarball
# without installing anything. Each library is checked against the sha256
# pinned here. Idempotent: does nothing when both files are there and match.
#
#   scripts/onnxruntime.sh [DEST]   DEST defaults to third_party/onnxruntime
set -euo pipefail

VERSION=1.30.0
declare -A SHA256=(
  [amd64]=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
  [arm64]=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76
)
declare -A NPMARCH=([amd64]=x64 [arm64]=arm64)

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/third_party/onnxruntime}

ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

need=0
for arch in amd64 arm64; do
  ok "$dest/linux-$arch/libonnxruntime.so.1" "${SHA256[$arch]}" || need=1
done
[ $need -eq 0 ] && exit 0

command -v npm >/dev/null || { echo "onnxruntime: npm not found (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "onnxruntime: fetching onnxruntime-node@$VERSION with npm pack" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null)
tar -xzf "$tmp/onnxruntime-node-$VERSION.tgz" -C "$tmp" --wildcards 'package/bin/napi-v*/linux/*/libonnxruntime.so.1'
for arch in amd64 arm64; do
  src=$(ls "$tmp"/package/bin/napi-v*/linux/"${NPMARCH[$arch]}"/libonnxruntime.so.1 | head -n1)
  if ! ok "$src" "${SHA256[$arch]}"; then
    echo "onnxruntime: $src: sha256 $(sha256sum "$src" | cut -d' ' -f1), want ${SHA256[$arch]}" >&2
    exit 1
  fi
  mkdir -p "$dest/linux-$arch"
  install -m 0644 "$src" "$dest/linux-$arch/libonnxruntime.so.1.tmp"
  mv "$dest/linux-$arch/libonnxruntime.so.1.tmp" "$dest/linux-$arch/libonnxruntime.so.1"
done
echo "onnxruntime: $VERSION in $dest" >&2
