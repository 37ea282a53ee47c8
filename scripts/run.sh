#!/usr/bin/env bash
# The run command: installs what is missing, builds, starts a throwaway PostgreSQL under .tmp/run,
# applies migrations, starts the services and loads the demo organisation, then waits.
# Ctrl-C (or `scripts/run.sh stop` from another terminal) shuts everything down cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.tmp/run"
pgdir="$state/pg"
PG_PORT=${SASE_RUN_PG_PORT:-55400}
SYNC_PORT=${SASE_RUN_SYNC_PORT:-50061}
DIR_PORT=${SASE_RUN_DIRECTORY_PORT:-50062}
SYNC_METRICS=${SASE_RUN_SYNC_METRICS_PORT:-9461}
DIR_METRICS=${SASE_RUN_DIRECTORY_METRICS_PORT:-9462}

stop_all() {
  if [ -f "$state/pids" ]; then
    while read -r pid name; do
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        echo "stopped $name (pid $pid)" >&2
      fi
    done < "$state/pids"
    rm -f "$state/pids"
  fi
  "$root/scripts/pg.sh" stop "$pgdir" 2>/dev/null && echo "stopped PostgreSQL" >&2 || true
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  exit 0
fi

"$root/scripts/install_deps.sh"
export BUILD_DIR=${BUILD_DIR:-$root/build}
echo "building (first build takes a few minutes)..." >&2
"$root/scripts/build.sh" >&2
bin="$BUILD_DIR"
stop_all
mkdir -p "$state"

dsn=$("$root/scripts/pg.sh" start "$pgdir" "$PG_PORT" durable)
echo "PostgreSQL 15 on 127.0.0.1:$PG_PORT (data in $pgdir)" >&2
trap 'echo; echo "shutting down..." >&2; stop_all; exit 0' INT TERM
"$bin/tools/migrate/sase_migrate" --pg_dsn="$dsn" 2>>"$state/migrate.log"

# A fixed development key-encryption key for the demo only; production reads it from a secret.
export SASE_DEMO_KEK="ZGVtby1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="
start() {
  local name=$1; shift
  "$@" >>"$state/$name.log" 2>&1 &
  echo "$! $name" >> "$state/pids"
}
start sync_worker "$bin/services/sync_worker/sync_worker" --pg_dsn="$dsn" \
  --listen_addr="127.0.0.1:$SYNC_PORT" --metrics_addr="127.0.0.1:$SYNC_METRICS" \
  --kek_env=SASE_DEMO_KEK --public_host=localhost:8080
start directory "$bin/services/directory/directory" --pg_dsn="$dsn" \
  --listen_addr="127.0.0.1:$DIR_PORT" --metrics_addr="127.0.0.1:$DIR_METRICS"

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "service on port $1 did not start; see $state/*.log" >&2
  stop_all
  exit 1
}
wait_port "$SYNC_PORT"
wait_port "$DIR_PORT"

"$bin/services/directory/directory_demo_load" --pg_dsn="$dsn" --tenant=demo >>"$state/demo_load.log" 2>&1

cli="$bin/tools/sasectl/sasectl"
cat <<INFO

SASE DingTalk connector is running (logs in $state/):
  sync_worker  gRPC 127.0.0.1:$SYNC_PORT   metrics http://127.0.0.1:$SYNC_METRICS/metrics
  directory    gRPC 127.0.0.1:$DIR_PORT   metrics http://127.0.0.1:$DIR_METRICS/metrics
  PostgreSQL   $dsn

Try (tenant "demo"):
  $cli idp list
  $cli user search --idp \$($cli --json idp list | sed -n 's/.*"idpId": *"\([^"]*\)".*/\1/p' | head -1) 张
  $cli dept list --idp \$($cli --json idp list | sed -n 's/.*"idpId": *"\([^"]*\)".*/\1/p' | head -1) --subtree

Press Ctrl-C to stop (or run: scripts/run.sh stop).
INFO
$cli idp list || true
while true; do
  sleep 1 &
  wait $! || true
  # Exit if a service died.
  while read -r pid name; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited; see $state/$name.log" >&2
      stop_all
      exit 1
    fi
  done < "$state/pids"
done
