#!/usr/bin/env bash
# gotool.sh MODULE/PATH@VERSION [ARGS…]: runs a Go program at a pinned
# version, as go run MODULE/PATH@VERSION would, from a binary built once
# per Go version and kept in ${XDG_CACHE_HOME:-$HOME/.cache}/bk-tools.
# go run pkg@version asks the module proxy about the module's latest
# version (for a deprecation notice) on every run, even with everything
# in the module cache: one TLS handshake timeout there failed a make
# test whose tests had all passed. Only the first run needs the proxy.
set -euo pipefail
tool=$1
shift
name=${tool%@*}
name=${name##*/}
version=${tool##*@}
case $version in
  v[0-9]*) ;;
  *) echo "gotool.sh: $tool: want an exact version (path@vX.Y.Z)" >&2; exit 2 ;;
esac
dir=${XDG_CACHE_HOME:-$HOME/.cache}/bk-tools/$(go env GOVERSION)
bin=$dir/$name@$version
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.install.XXXXXX")
  GOBIN=$tmp go install "$tool" || { rm -rf "$tmp"; exit 1; }
  mv "$tmp/$name" "$bin"
  rm -rf "$tmp"
fi
exec "$bin" "$@"
