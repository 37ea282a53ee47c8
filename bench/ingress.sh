#!/usr/bin/env bash
# Ingress benchmark: durable acks/s (each push a new inbox row, PostgreSQL at its
# durable defaults) with p50/p99 at half that rate, bad-signature rejections/s, and the HTTP
# library's baseline (GET /healthz) in the same run. 3 runs each, medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-128}
PG_PORT=${PG_PORT:-55451}
SYNC_PORT=${SYNC_PORT:-50171}
HTTP_PORT=${HTTP_PORT:-18080}
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}
# Benches run every service on loopback: internal gRPC in plaintext (accepted only there).
export SASE_GRPC_PLAINTEXT=true
if [ -z "${SKIP_BUILD:-}" ]; then  # SKIP_BUILD=1: use $BUILD_DIR as it is
  "$root/scripts/install_deps.sh"
  BUILD_TYPE=RelWithDebInfo "$root/scripts/build.sh" >&2
fi
b="$BUILD_DIR"
state="$root/.tmp/bench-ingress"
mkdir -p "$state"
dsn=$("$root/scripts/pg.sh" start "$state/pg" "$PG_PORT" durable)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/scripts/pg.sh" stop "$state/pg" || true
}
trap cleanup EXIT
"$b/tools/migrate/sase_migrate" --pg_dsn="$dsn" 2>/dev/null
export SASE_BENCH_KEK="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
"$b/services/sync_worker/sync_worker" --pg_dsn="$dsn" --listen_addr="127.0.0.1:$SYNC_PORT" \
  --metrics_addr=127.0.0.1:0 --kek_env=SASE_BENCH_KEK 2>"$state/sync_worker.log" &
pids+=($!)
sync_pid=$!
"$b/services/ingress/ingress" --listen_addr="127.0.0.1:$HTTP_PORT" --metrics_addr=127.0.0.1:0 \
  --sync_worker_addr="127.0.0.1:$SYNC_PORT" ${INGRESS_ARGS:-} 2>"$state/ingress.log" &
pids+=($!)
ingress_pid=$!
for port in "$SYNC_PORT" "$HTTP_PORT"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
pg_pid=$(head -1 "$state/pg/data/postmaster.pid")
cpu_pids="ingress:$ingress_pid,sync_worker:$sync_pid,postgres:$pg_pid"
gen() { "$b/bench/ingress_loadgen" --port="$HTTP_PORT" --duration_s="$DURATION" --cpu_pids="$cpu_pids" "$@"; }
idp=$(gen --create_source --sync_worker="127.0.0.1:$SYNC_PORT")

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
out=${OUT:-$root/bench/results/ingress.jsonl}
emit() { echo "$1"; echo "$1" >> "$out"; }
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
pgset="fsync=on,synchronous_commit=on,full_page_writes=on"
emit "{\"bench\":\"ingress\",\"metric\":\"machine\",\"value\":0,\"cores\":$(nproc),\"mem_gib\":$(awk '/MemTotal/ {printf "%d", $2/1048576}' /proc/meminfo),\"commit\":\"$commit\",\"date\":\"$(date -u +%FT%TZ)\",\"pg\":\"$pgset\"}"

run3() {  # name, args...
  local name=$1; shift
  : > "$state/$name"
  for i in $(seq 1 "$RUNS"); do gen "$@" | tee -a "$state/$name" >&2; done
}
run3 baseline --mode=healthz --connections="$CONNECTIONS"
run3 reject --mode=bad_signature --idp="$idp" --connections="$CONNECTIONS"
run3 durable --mode=durable --idp="$idp" --connections="$CONNECTIONS"
base=$(field rps < "$state/baseline" | median)
rej=$(field rps < "$state/reject" | median)
acks=$(field rps < "$state/durable" | median)
emit "{\"bench\":\"ingress.baseline_healthz\",\"metric\":\"rps\",\"value\":${base%.*},\"unit\":\"1/s\",\"runs\":$RUNS,\"stat\":\"median\",\"connections\":$CONNECTIONS}"
emit "{\"bench\":\"ingress.bad_signature\",\"metric\":\"rejections_per_s\",\"value\":${rej%.*},\"unit\":\"1/s\",\"runs\":$RUNS,\"stat\":\"median\",\"connections\":$CONNECTIONS}"
emit "{\"bench\":\"ingress.bad_signature\",\"metric\":\"rejections_vs_baseline\",\"value\":$(awk -v a="$rej" -v b="$base" 'BEGIN {printf "%.2f", a/b}'),\"unit\":\"ratio\"}"
emit "{\"bench\":\"ingress.durable\",\"metric\":\"acks_per_s\",\"value\":${acks%.*},\"unit\":\"1/s\",\"runs\":$RUNS,\"stat\":\"median\",\"connections\":$CONNECTIONS,\"pg\":\"$pgset\"}"
# Where the CPU went (cores, median over the runs) in the closed-loop durable and rejection runs.
cpu() {  # run-file, process -> median cores
  sed -n "s/.*\"$2\":\([0-9.e+-]*\).*/\1/p" < "$state/$1" | median
}
for run in durable reject; do
  for proc in loadgen ingress sync_worker postgres; do
    emit "{\"bench\":\"ingress.$([ $run = reject ] && echo bad_signature || echo durable)\",\"metric\":\"cpu_cores\",\"value\":$(cpu $run $proc),\"unit\":\"cores\",\"process\":\"$proc\",\"runs\":$RUNS,\"stat\":\"median\"}"
  done
done
half=$(awk -v q="$acks" 'BEGIN {printf "%d", q/2}')
run3 durable_open --mode=durable --idp="$idp" --connections=$((CONNECTIONS * 4)) --rate="$half"
p50=$(field p50_ms < "$state/durable_open" | median)
p99=$(field p99_ms < "$state/durable_open" | median)
emit "{\"bench\":\"ingress.durable\",\"metric\":\"latency_p50\",\"value\":$p50,\"unit\":\"ms\",\"runs\":$RUNS,\"stat\":\"median\",\"rate\":$half,\"pg\":\"$pgset\"}"
emit "{\"bench\":\"ingress.durable\",\"metric\":\"latency_p99\",\"value\":$p99,\"unit\":\"ms\",\"runs\":$RUNS,\"stat\":\"median\",\"rate\":$half,\"pg\":\"$pgset\"}"
rows=$(/usr/lib/postgresql/15/bin/psql "$dsn" -Atc "SELECT count(*) FROM event_inbox")
echo "inbox rows: $rows" >&2
emit "{\"bench\":\"ingress\",\"metric\":\"peak_rss\",\"value\":$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$ingress_pid/status),\"unit\":\"MiB\",\"process\":\"ingress\"}"
emit "{\"bench\":\"ingress\",\"metric\":\"peak_rss\",\"value\":$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$sync_pid/status),\"unit\":\"MiB\",\"process\":\"sync_worker\"}"
