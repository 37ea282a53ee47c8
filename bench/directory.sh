#!/usr/bin/env bash
# Directory benchmark: 100k users in 5k departments (depth >= 8, users in 1-3
# departments) in a durable PostgreSQL; a separate load-generator process drives GetUser,
# CheckMembership, LookupUser and ListUsers (subtree, 100 per page): closed loop at fixed
# concurrency for QPS, then open loop at half that rate for latency. 3 runs each, medians.
# JSON lines on stdout (appended to bench/results/directory.jsonl); progress on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
USERS=${USERS:-100000}
DEPTS=${DEPTS:-5000}
DEPTH=${DEPTH:-8}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-32}
RPCS=${RPCS:-get_user check_membership lookup_user list_users}
PG_PORT=${PG_PORT:-55450}
DIR_PORT=${DIR_PORT:-50162}
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}
# Benches run every service on loopback: internal gRPC in plaintext (accepted only there).
export SASE_GRPC_PLAINTEXT=true
if [ -z "${SKIP_BUILD:-}" ]; then  # SKIP_BUILD=1: use $BUILD_DIR as it is
  "$root/scripts/install_deps.sh"
  BUILD_TYPE=RelWithDebInfo "$root/scripts/build.sh" >&2
fi
state="$root/.tmp/bench-directory"
mkdir -p "$state"
dsn=$("$root/scripts/pg.sh" start "$state/pg" "$PG_PORT" durable)
dir_pid=""
cleanup() {
  [ -n "$dir_pid" ] && kill "$dir_pid" 2>/dev/null && wait "$dir_pid" 2>/dev/null || true
  "$root/scripts/pg.sh" stop "$state/pg" || true
}
trap cleanup EXIT
"$BUILD_DIR/tools/migrate/sase_migrate" --pg_dsn="$dsn" 2>/dev/null
echo "loading $USERS users in $DEPTS departments (depth $DEPTH)..." >&2
t0=$(date +%s.%N)
"$BUILD_DIR/services/directory/directory_demo_load" --pg_dsn="$dsn" --tenant=bench \
  --users="$USERS" --departments="$DEPTS" --max_depth="$DEPTH" >&2
t1=$(date +%s.%N)
echo "loaded in $(echo "$t1 - $t0" | bc) s" >&2

"$BUILD_DIR/services/directory/directory" --pg_dsn="$dsn" --listen_addr="127.0.0.1:$DIR_PORT" \
  --metrics_addr=127.0.0.1:0 2>"$state/directory.log" &
dir_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$DIR_PORT") 2>/dev/null && break; sleep 0.1; done

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
gen() {
  "$BUILD_DIR/bench/directory_loadgen" --target="127.0.0.1:$DIR_PORT" --pg_dsn="$dsn" --tenant=bench \
    --duration_s="$DURATION" "$@"
}
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
out=${OUT:-$root/bench/results/directory.jsonl}
emit() { echo "$1"; echo "$1" >> "$out"; }
emit "{\"bench\":\"directory\",\"metric\":\"machine\",\"value\":0,\"cores\":$(nproc),\"mem_gib\":$(awk '/MemTotal/ {printf "%d", $2/1048576}' /proc/meminfo),\"commit\":\"$commit\",\"date\":\"$(date -u +%FT%TZ)\",\"pg\":\"fsync=on,synchronous_commit=on,full_page_writes=on\"}"
for rpc in $RPCS; do
  : > "$state/$rpc.closed"
  for i in $(seq 1 "$RUNS"); do
    gen --rpc="$rpc" --concurrency="$CONCURRENCY" | tee -a "$state/$rpc.closed" >&2
  done
  qps=$(field qps < "$state/$rpc.closed" | median)
  qmin=$(field qps < "$state/$rpc.closed" | sort -g | head -1)
  qmax=$(field qps < "$state/$rpc.closed" | sort -g | tail -1)
  emit "{\"bench\":\"directory.$rpc\",\"metric\":\"qps\",\"value\":${qps%.*},\"unit\":\"1/s\",\"runs\":$RUNS,\"stat\":\"median\",\"min\":${qmin%.*},\"max\":${qmax%.*},\"concurrency\":$CONCURRENCY,\"users\":$USERS,\"departments\":$DEPTS}"
  half=$(awk -v q="$qps" 'BEGIN {printf "%d", q/2}')
  : > "$state/$rpc.open"
  for i in $(seq 1 "$RUNS"); do
    gen --rpc="$rpc" --rate="$half" | tee -a "$state/$rpc.open" >&2
  done
  p50=$(field p50_ms < "$state/$rpc.open" | median)
  p99=$(field p99_ms < "$state/$rpc.open" | median)
  emit "{\"bench\":\"directory.$rpc\",\"metric\":\"latency_p50\",\"value\":$p50,\"unit\":\"ms\",\"runs\":$RUNS,\"stat\":\"median\",\"rate\":$half}"
  emit "{\"bench\":\"directory.$rpc\",\"metric\":\"latency_p99\",\"value\":$p99,\"unit\":\"ms\",\"runs\":$RUNS,\"stat\":\"median\",\"rate\":$half}"
done
hwm=$(awk '/VmHWM/ {printf "%d", $2/1024}' "/proc/$dir_pid/status")
emit "{\"bench\":\"directory\",\"metric\":\"peak_rss\",\"value\":$hwm,\"unit\":\"MiB\",\"users\":$USERS}"
