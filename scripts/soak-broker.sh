#!/usr/bin/env bash
# Runs the broker's tests RUNS times (default 50) while `stress` keeps CPUS
# cores busy (default 2), as issue 11 asked: Close must never deadlock in
# mochi and no goroutine may leak under load. Not part of make test (it
# takes about ten minutes). Installs stress (Debian) when missing.
#
#   bash scripts/soak-broker.sh [RUNS] [CPUS]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
runs=${1:-50}
cpus=${2:-2}
if ! command -v stress >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends stress >/dev/null
fi
go test -c -race -o /tmp/bk-broker.test ./fleet/broker/
setsid stress -c "$cpus" >/dev/null 2>&1 & # its own process group: stop it and its workers together
load=$!
trap 'kill -- -"$load" 2>/dev/null || true' EXIT
failed=0
for i in $(seq 1 "$runs"); do
  if ! (cd fleet/broker && timeout 300 /tmp/bk-broker.test -test.count=1 >/tmp/bk-broker-soak.log 2>&1); then
    failed=$((failed + 1))
    echo "soak-broker: run $i failed:" >&2
    tail -30 /tmp/bk-broker-soak.log >&2
  fi
done
echo "soak-broker: $runs runs under stress -c $cpus, $failed failed"
[ "$failed" -eq 0 ]
