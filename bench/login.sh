#!/usr/bin/env bash
# Logon benchmark: logons/s (closed loop) and p50/p99 of the callback (state, nonce, DingTalk's
# three calls, directory check, signature) against the DingTalk simulator answering every call in
# LATENCY_MS (default 50), idle and while full syncs of the same organisation run back to back.
# RUNS runs of DURATION s each, medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-64}
LATENCY_MS=${LATENCY_MS:-50}
USERS=${USERS:-20000}
DEPTS=${DEPTS:-400}
PG_PORT=${PG_PORT:-55452}
SYNC_PORT=${SYNC_PORT:-50172}
HTTP_PORT=${HTTP_PORT:-18081}
SIM_PORT=${SIM_PORT:-18091}
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}
# Benches run every service on loopback: internal gRPC in plaintext (accepted only there).
export SASE_GRPC_PLAINTEXT=true
if [ -z "${SKIP_BUILD:-}" ]; then
  "$root/scripts/install_deps.sh"
  BUILD_TYPE=RelWithDebInfo "$root/scripts/build.sh" >&2
fi
b="$BUILD_DIR"
state="$root/.tmp/bench-login"
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
sim="http://127.0.0.1:$SIM_PORT"
"$b/tools/dingtalk_sim/dingtalk_sim" --listen="127.0.0.1:$SIM_PORT" --seed=5 --users="$USERS" --departments="$DEPTS" \
  --max_depth=4 --app_key=dingbenchapp --app_secret=bench-secret --corp_id=dingbenchcorp --qps=0 --threads=256 \
  >"$state/sim.log" 2>&1 &
pids+=($!)
export SASE_BENCH_KEK="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
# DingTalk's per-API limit opened up (the simulator does not throttle here): the figure is our cost.
"$b/services/sync_worker/sync_worker" --pg_dsn="$dsn" --listen_addr="127.0.0.1:$SYNC_PORT" --metrics_addr=127.0.0.1:0 \
  --kek_env=SASE_BENCH_KEK --dingtalk_oapi_base="$sim" --dingtalk_api_base="$sim" --dingtalk_qps=1000 \
  --dingtalk_process_qps=5000 --sync_scheduler=false --pg_pool_size=32 2>"$state/sync_worker.log" &
pids+=($!)
"$b/services/ingress/ingress" --listen_addr="127.0.0.1:$HTTP_PORT" --metrics_addr=127.0.0.1:0 \
  --sync_worker_addr="127.0.0.1:$SYNC_PORT" --dingtalk_authorize_url="$sim/oauth2/auth" --login_threads=128 \
  2>"$state/ingress.log" &
pids+=($!)
for port in "$SIM_PORT" "$SYNC_PORT" "$HTTP_PORT"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
cli() { "$b/tools/sasectl/sasectl" --sync-worker "127.0.0.1:$SYNC_PORT" --tenant bench "$@"; }
redirect="https://client.example/cb"
idp=$(SASE_APP_SECRET=bench-secret cli --json idp create --name bench --corp-id dingbenchcorp --app-key dingbenchapp \
  --cycle-hours 24 --login-redirect-uri "$redirect" | sed -n 's/.*"idp_id": *"\([^"]*\)".*/\1/p')
echo "initial sync of $USERS users..." >&2
cli sync start --idp "$idp" --wait >&2
users=$(psql "$dsn" -Atc "SELECT string_agg(dingtalk_userid, ',') FROM (SELECT dingtalk_userid FROM users WHERE status = 1 AND active LIMIT 500) u")
curl -s -X POST "$sim/admin/faults" -d "{\"latency_ms\":$LATENCY_MS}" >/dev/null
for _ in $(seq 1 100); do  # ingress ready: its sync_worker channel is up
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/readyz")" = 200 ] && break
  sleep 0.1
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
out=${OUT:-$root/bench/results/login.jsonl}
emit() { echo "$1"; echo "$1" >> "$out"; }
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
emit "{\"bench\":\"login\",\"metric\":\"machine\",\"value\":0,\"cores\":$(nproc),\"mem_gib\":$(awk '/MemTotal/ {printf "%d", $2/1048576}' /proc/meminfo),\"commit\":\"$commit\",\"date\":\"$(date -u +%FT%TZ)\"}"
gen() { "$b/bench/login_loadgen" --ingress="http://127.0.0.1:$HTTP_PORT" --idp="$idp" --redirect="$redirect" \
  --users="$users" --concurrency="$CONCURRENCY" --duration_s="$DURATION"; }
syncing() {  # full syncs back to back until the file $state/stop appears
  while [ ! -e "$state/stop" ]; do cli sync start --idp "$idp" --wait >/dev/null 2>&1 || sleep 0.5; done
}
for case in idle during_sync; do
  : > "$state/$case"
  rm -f "$state/stop"
  if [ "$case" = during_sync ]; then syncing & sync_loop=$!; sleep 2; fi
  for _ in $(seq 1 "$RUNS"); do gen | tee -a "$state/$case" >&2; done
  if [ "$case" = during_sync ]; then touch "$state/stop"; wait "$sync_loop" || true; fi
  for m in logons_per_s p50_ms p99_ms; do
    unit=$([ $m = logons_per_s ] && echo "1/s" || echo ms)
    emit "{\"bench\":\"login.$case\",\"metric\":\"${m%_ms}\",\"value\":$(field $m < "$state/$case" | median),\"unit\":\"$unit\",\"runs\":$RUNS,\"stat\":\"median\",\"concurrency\":$CONCURRENCY,\"dingtalk_latency_ms\":$LATENCY_MS,\"users\":$USERS}"
  done
  emit "{\"bench\":\"login.$case\",\"metric\":\"errors\",\"value\":$(field errors < "$state/$case" | awk '{s+=$1} END {print s+0}'),\"unit\":\"1\",\"runs\":$RUNS}"
done
