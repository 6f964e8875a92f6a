#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on a random loopback
# port, exported as BK_TEST_POSTGRES_URL, so the store's tests run against
# PostgreSQL as well as SQLite. The cluster lives in a temp dir and is
# removed afterwards. Without PostgreSQL installed the command runs as is
# (with a warning; scripts/deps.sh installs it).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "with-postgres: PostgreSQL not installed; running without it" >&2
  exec "$@"
fi
dir=$(mktemp -d -t bk-pg.XXXXXX)
# A random free port: one where nothing answers a connection.
for _ in $(seq 1 50); do
  port=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # initdb and postgres refuse to run as root.
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U bk --no-sync >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" start >/dev/null
export BK_TEST_POSTGRES_URL="postgres://bk@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: PostgreSQL on 127.0.0.1:$port" >&2
"$@"
