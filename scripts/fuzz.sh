#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 20s).
# New crashers are written by go test under the package's testdata/fuzz/.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
t=${1:-20s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $pkg $fn ($t)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"
  done
done
