#!/usr/bin/env bash
# Vendors hls.js into the fleet's web UI (the player's HLS fallback where a
# browser has Media Source Extensions but no native HLS): fetches the
# pinned release from the npm registry with `npm pack`, and copies its
# minified build and its LICENSE to fleet/web/static/vendor/ as
# hls.min.js and hls.LICENSE. The result is committed, so building and
# testing never need npm; run this again only to change HLSJS_VERSION.
# Idempotent: a vendored copy of the same version is left as it is.
set -euo pipefail
HLSJS_VERSION=${HLSJS_VERSION:-1.7.4}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/fleet/web/static/vendor"
stamp="$dest/hls.version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$HLSJS_VERSION" ] && [ -s "$dest/hls.min.js" ]; then
  echo "vendor-hlsjs: hls.js $HLSJS_VERSION already vendored in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "vendor-hlsjs: npm not found (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d -t bk-hlsjs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null)
tgz=$(ls "$tmp"/hls.js-*.tgz)
tar -xzf "$tgz" -C "$tmp" package/dist/hls.min.js package/LICENSE
mkdir -p "$dest"
cp "$tmp/package/dist/hls.min.js" "$dest/hls.min.js"
cp "$tmp/package/LICENSE" "$dest/hls.LICENSE"
echo "$HLSJS_VERSION" >"$stamp"
echo "vendor-hlsjs: hls.js $HLSJS_VERSION -> $dest"
