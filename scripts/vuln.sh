#!/usr/bin/env bash
# govulncheck against an offline database. vuln.go.dev is not reachable, so
# the advisories come from the golang.org/x/vulndb module on the Go module
# proxy (OSV files under data/osv); bk-vulndb turns them into the layout
# govulncheck reads with -db file://... . govulncheck is built by the same
# toolchain it scans with, so the standard library it checks is the one we
# ship. Exit status is govulncheck's: non-zero on a reachable advisory.
set -euo pipefail
# The approved Go (see the Makefile). VULN_GOTOOLCHAIN=go1.26.8 shows the
# check failing: that release carries 13 reachable standard-library advisories.
export GOTOOLCHAIN=${VULN_GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "$0")/.."

VULNDB=${VULNDB:-golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018}
GOVULNCHECK=${GOVULNCHECK:-golang.org/x/vuln/cmd/govulncheck@v1.9.0}

src=$(go mod download -json "$VULNDB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')/data/osv
[ -d "$src" ] || { echo "vuln.sh: $VULNDB has no data/osv" >&2; exit 1; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/bk-vulndb/${VULNDB##*@}
if [ ! -f "$cache/index/db.json" ]; then
  mkdir -p "$(dirname "$cache")"
  go run ./internal/vulndb/cmd/bk-vulndb -src "$src" -out "$cache"
fi
echo "govulncheck $(go env GOVERSION), database ${VULNDB##*@}"
bash scripts/gotool.sh "$GOVULNCHECK" -db "file://$cache" ./...
