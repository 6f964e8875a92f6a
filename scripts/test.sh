#!/usr/bin/env bash
# make test: the static checks (make lint, then make vuln) run beside the
# test suite rather than before it. Both are CPU-bound type checking, and
# the suite's last minutes are processes waiting on loopback, so on two
# cores the overlap saves most of their time. Exit status is non-zero when
# either fails; the checks' output is printed after the suite's.
set -uo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
# -trimpath for every go command below (tests, vet, the e2e binaries):
# without it the build cache is keyed by the checkout's directory, so a
# fresh clone compiled the whole module again with -race (about 240 s of
# this 2-core machine's 8 minutes) even when the cache held every package
# from another checkout. No test depends on absolute source paths.
# -ldflags=-w: no DWARF in the test binaries and the binaries e2e
# builds, which took two fifths off a race link of bk-fleet (5.2 to 3.0
# CPU-s; about 70 links a run); stack traces and race reports keep their
# files and lines, which come from the runtime's line table. A go build
# with its own -ldflags (the release builds the tests make) overrides it.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -ldflags=-w"

# go test starts the packages' test binaries in the order it is given
# them. The longest go first (e2e, then the Chromium, PostgreSQL and
# inference ones, about a minute each under -race), so that the run does
# not end with one of them alone: in alphabetical order the held-out
# evaluation (plugins/onnx/eval) started last and ran alone at the end.
# A slow package renamed away fails here, by name.
mod=github.com/brightkitchen/brightkitchen
slow=(e2e fleet/web fleet/api plugins/onnx/eval fleet/ingest hw/camsim/scene
  scripts/packaging gateway/decode fleet/notify fleet/rates)
slow=("${slow[@]/#/$mod/}")
all=$(go list -e ./...) || exit 1
mapfile -t pkgs < <(grep -vxF -f <(printf '%s\n' "${slow[@]}") <<<"$all")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
( make --no-print-directory lint && make --no-print-directory vuln ) >"$log" 2>&1 &
checks=$!

# -p 4, not go test's default of one package per core: each package
# waits part of its time (on loopback, PostgreSQL or a child process), so
# on two cores it takes four side by side to keep both busy. The run is
# CPU-bound then (both cores busy throughout, measured from /proc/stat):
# it gets shorter by doing less, not by waiting less.
#
# TestAIScenes runs after them, alone: eight cameras' inference takes most
# of a core, and beside other packages (Chromium's, or compiling on a
# fresh machine) the demo model saw starved, damaged frames (a rodent
# where there is none, an episode split in two).
bash scripts/with-postgres.sh go test -race -count=1 -p 4 -timeout "${TEST_TIMEOUT:-30m}" -skip '^TestAIScenes$' "${slow[@]}" "${pkgs[@]}"
tests=$?
go test -race -count=1 -timeout 10m -run '^TestAIScenes$' ./e2e/ || tests=1

wait "$checks"
lint=$?
echo "--- make lint, make vuln ---"
cat "$log"
[ "$lint" -eq 0 ] || echo "make test: make lint or make vuln failed (above)" >&2
[ "$tests" -eq 0 ] || echo "make test: go test failed" >&2
git diff --quiet -- go.mod go.sum 2>/dev/null || {
  echo "make test changed go.mod or go.sum:" >&2
  git diff --stat -- go.mod go.sum >&2
  exit 1
}
[ "$tests" -eq 0 ] && [ "$lint" -eq 0 ]
