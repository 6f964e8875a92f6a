#!/usr/bin/env bash
# Vendors Apache ECharts into the fleet's web UI: fetches the pinned
# release from the npm registry with `npm pack`, and copies its minified
# build and its LICENSE (and NOTICE) to fleet/web/static/vendor/. The
# result is committed, so building and testing never need npm; run this
# again only to change ECHARTS_VERSION. Idempotent: a vendored copy of the
# same version is left as it is.
set -euo pipefail
ECHARTS_VERSION=${ECHARTS_VERSION:-6.1.0}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/fleet/web/static/vendor"
stamp="$dest/echarts.version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ECHARTS_VERSION" ] && [ -s "$dest/echarts.min.js" ]; then
  echo "vendor-echarts: echarts $ECHARTS_VERSION already vendored in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "vendor-echarts: npm not found (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d -t bk-echarts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null)
tgz=$(ls "$tmp"/echarts-*.tgz)
tar -xzf "$tgz" -C "$tmp" package/dist/echarts.min.js package/LICENSE
tar -xzf "$tgz" -C "$tmp" package/NOTICE 2>/dev/null || true
mkdir -p "$dest"
cp "$tmp/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
if [ -f "$tmp/package/NOTICE" ]; then
  cp "$tmp/package/NOTICE" "$dest/NOTICE"
fi
echo "$ECHARTS_VERSION" >"$stamp"
echo "vendor-echarts: echarts $ECHARTS_VERSION -> $dest"
