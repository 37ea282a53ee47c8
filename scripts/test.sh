#!/usr/bin/env bash
# The test command: installs what is missing, builds with -Werror, starts a throwaway PostgreSQL,
# runs every test through CTest (arguments go to ctest), stops PostgreSQL. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
export BUILD_DIR=${BUILD_DIR:-$root/build}
"$root/scripts/build.sh" -DSASE_WERROR=ON
pgdir="$root/.tmp/test-pg"
# The first free port from 55432 (two checkouts, or a port someone else holds, never collide);
# SASE_TEST_PG_PORT pins it.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${SASE_TEST_PG_PORT:-}
if [ -z "$port" ]; then
  port=55432
  while port_taken "$port"; do port=$((port + 1)); done
fi
# Another run may bind the port between the check and PostgreSQL's start: then move on.
for attempt in 1 2 3 4 5; do
  if dsn=$("$root/scripts/pg.sh" start "$pgdir" "$port"); then break; fi
  if [ -n "${SASE_TEST_PG_PORT:-}" ] || [ "$attempt" = 5 ]; then exit 1; fi
  echo "test.sh: port $port was taken meanwhile; trying the next free one" >&2
  port=$((port + 1))
  while port_taken "$port"; do port=$((port + 1)); done
done
trap '"$root/scripts/pg.sh" stop "$pgdir"' EXIT
export SASE_TEST_PG_DSN="$dsn"
cd "$BUILD_DIR"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300 "$@"  # e.g. -R FullSync, -L pg
