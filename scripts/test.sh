#!/usr/bin/env bash
# make test: three things at once, at three priorities. TestAIScenes
# (e2e) runs at normal priority; the rest of the suite at nice 10; the
# static checks (make lint, then make vuln) at nice 19, in the moments
# the others leave a core idle. Exit status is non-zero when any fails;
# the outputs are printed one after another.
set -uo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
# -trimpath for every go command below (tests, vet, the e2e binaries):
# without it the build cache is keyed by the checkout's directory, so a
# fresh clone compiled the whole module again with -race (about 240 s of
# this 2-core machine's 8 minutes) even when the cache held every package
# from another checkout. No test depends on absolute source paths.
# -ldflags=-s: no symbol table and no DWARF in the test binaries and the
# binaries e2e builds. Without DWARF a race link of bk-fleet took two
# fifths less (5.2 to 3.0 CPU-s; about 70 links a run), without the
# symbol table another tenth; stack traces and race reports keep their
# functions, files and lines, which come from the runtime's own tables. A
# go build with its own -ldflags (the release builds the tests make)
# overrides it.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -ldflags=-s"

# go test starts the packages' test binaries in the order it is given
# them. The longest go first (the Chromium, PostgreSQL and inference
# ones, about a minute each under -race; e2e runs apart, below), so that
# the run does not end with one of them alone: in alphabetical order the
# held-out evaluation (plugins/onnx/eval) started last and ran alone at
# the end.
# A slow package renamed away fails here, by name.
mod=github.com/brightkitchen/brightkitchen
slow=(fleet/web fleet/api plugins/onnx/eval fleet/ingest hw/camsim/scene
  scripts/packaging gateway/decode fleet/notify fleet/rates)
slow=("${slow[@]/#/$mod/}")
all=$(go list -e ./...) || exit 1
mapfile -t pkgs < <(grep -vxF -f <(printf '%s\n' "${slow[@]}" "$mod/e2e") <<<"$all")

# Compile every package the tests need (with -race, test files included)
# before any test starts; only the links are left to go test. On a warm
# build cache this is lookups (about 6 s); on a fresh machine it is most
# of the compiling, which otherwise ran beside the first tests at equal
# priority: in one such run, streams and relays starved of CPU missed
# their bounds (a minute for 1,000 events, 5 s for five RTP packets) in
# four tests that pass alone. Errors are go test's to report.
go list -race -e -export -deps -test ./... >/dev/null 2>&1

log=$(mktemp)
ailog=$(mktemp)
e2elog=$(mktemp)
# e2e's programs (bk-fleet, bk-gateway, the plugins…), built with -race
# once for both go test runs of e2e below (see e2e's TestMain).
BK_E2E_BIN=$(mktemp -d)
export BK_E2E_BIN
trap 'rm -rf "$log" "$ailog" "$e2elog" "$BK_E2E_BIN"' EXIT
( nice -n 19 make --no-print-directory lint && nice -n 19 make --no-print-directory vuln ) >"$log" 2>&1 &
checks=$!

# TestAIScenes runs beside the rest, ahead of it: eight cameras' inference
# in bk-plugin-onnx takes most of a core for half a minute, and at equal
# priority beside other packages (Chromium's, or compiling on a fresh
# machine) the demo model saw starved, damaged frames (a rodent where
# there is none, an episode split in two). Run alone after the rest, as
# it was, it left the other core idle for that half minute.
go test -race -count=1 -timeout 10m -run '^TestAIScenes$' ./e2e/ >"$ailog" 2>&1 &
ai=$!

# e2e (all but TestAIScenes) runs in a go test of its own at nice 5,
# ahead of the rest at nice 10. It is the longest package, so the run
# cannot end before it; and its programs (a bk-fleet, gateways, a
# Chromium) wait on each other within bounds, which at equal priority
# with three other packages they missed on a loaded machine (five
# bk-fleets not healthy within 20 s). The rest fill the cores it leaves.
# -p 3, not go test's default of one package per core: each package
# waits part of its time (on loopback, PostgreSQL or a child process), so
# on two cores it takes four side by side, e2e one of them, to keep both
# busy. The run is CPU-bound then (from /proc/stat: both cores busy but
# for about 50 core-seconds in the last minute and a half, when the
# slots hold small packages that mostly wait): it gets shorter by doing
# less, not by waiting less. Six side by side filled that idle time, but
# the heavy first packages then shared the cores six ways: the run took
# longer (510 s against 446-467) and a fleet under e2e took over 20 s to
# start.
# -parallel 8: within a package, the tests marked parallel that wait on
# a stream or a child process (fleet/live, gateway/detect, gateway/setup,
# plugins/sdk, hw/camsim…) run eight at once rather than go test's
# default of one per core; alone, fleet/live went from 31 to 16 s. The
# tests that are busy are not marked parallel, and e2e sets its own.
nice -n 5 bash scripts/with-postgres.sh bash -c '
  timeout=$1 e2elog=$2; shift 2
  go test -race -count=1 -timeout "$timeout" -skip "^TestAIScenes$" ./e2e/ >"$e2elog" 2>&1 &
  e2e=$!
  nice -n 5 go test -race -count=1 -p 3 -parallel 8 -timeout "$timeout" "$@"
  rc=$?
  wait "$e2e" || rc=1
  exit "$rc"' _ "${TEST_TIMEOUT:-30m}" "$e2elog" "${slow[@]}" "${pkgs[@]}"
tests=$?
wait "$ai" || tests=1
echo "--- e2e ---"
cat "$e2elog"
echo "--- TestAIScenes ---"
cat "$ailog"

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
