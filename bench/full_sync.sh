#!/usr/bin/env bash
# Full-sync benchmark: sync_worker (built binary) against the DingTalk simulator (separate process),
# PostgreSQL durable. Case "unthrottled": users/s applied and sync_worker peak RSS. Case "throttled"
# (QPS=20): wall time vs the API bound (minimum calls / QPS) and API calls per user.
# Knobs: USERS (100000), DEPTS (5000), DEPTH (5), CASES ("unthrottled throttled"), BUILD_DIR (build-bench),
# SKIP_BUILD=1 (use BUILD_DIR as it is),
# RUNS (3: the unthrottled case runs that often, each on a fresh database, and reports the median;
# the throttled case is bound by the API limit and runs once).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
USERS=${USERS:-100000}
DEPTS=${DEPTS:-5000}
DEPTH=${DEPTH:-5}
CASES=${CASES:-"unthrottled throttled"}
RUNS=${RUNS:-3}
OUT=${OUT:-$root/bench/results/full_sync.jsonl}
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}
# Benches run every service on loopback: internal gRPC in plaintext (accepted only there).
export SASE_GRPC_PLAINTEXT=true
build=$BUILD_DIR
tmp=$root/.tmp/bench-full-sync
mkdir -p "$tmp"
log() { echo "[full_sync] $*" >&2; }

if [ -z "${SKIP_BUILD:-}" ] || [ ! -x "$build/services/sync_worker/sync_worker" ]; then
  scripts/build.sh -DSASE_WERROR=ON >&2
fi
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

pgport=$(free_port)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export SASE_KEK=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
commit=$(git rev-parse --short HEAD)
echo "{\"bench\":\"full_sync\",\"metric\":\"machine\",\"value\":0,\"cores\":$(nproc),\"mem_gib\":$(awk '/MemTotal/{printf "%d",$2/1048576}' /proc/meminfo),\"commit\":\"$commit\",\"date\":\"$(date -Iseconds)\"}" \
  | tee -a "$OUT"

runs_of() { [ "$1" = unthrottled ] && echo "$RUNS" || echo 1; }
for case in $CASES; do
 for run_no in $(seq 1 "$(runs_of "$case")"); do
  dsn=$(scripts/pg.sh start "$tmp/pg" "$pgport" durable)  # a fresh, empty directory per run
  qps=0; [ "$case" = throttled ] && qps=20
  simport=$(free_port); grpcport=$(free_port); metport=$(free_port)
  "$build/tools/dingtalk_sim/dingtalk_sim" --listen=127.0.0.1:$simport --users=$USERS --departments=$DEPTS \
    --max_depth=$DEPTH --qps=$qps >"$tmp/sim.log" 2>&1 &
  simpid=$!; pids+=($simpid)
  for _ in $(seq 1 600); do grep -q listening "$tmp/sim.log" && break; sleep 0.1; done
  SASE_PG_DSN=$dsn "$build/services/sync_worker/sync_worker" --kek_env=SASE_KEK --migrate_on_start \
    --listen_addr=127.0.0.1:$grpcport --metrics_addr=127.0.0.1:$metport --sync_scheduler=false \
    --dingtalk_oapi_base=http://127.0.0.1:$simport --dingtalk_api_base=http://127.0.0.1:$simport \
    --dingtalk_qps=$([ $qps = 0 ] && echo 1000 || echo $qps) >"$tmp/sync_worker.log" 2>&1 &
  swpid=$!; pids+=($swpid)
  for _ in $(seq 1 300); do grep -q 'sync_worker serving' "$tmp/sync_worker.log" && break; sleep 0.1; done
  ctl() { "$build/tools/sasectl/sasectl" --sync-worker 127.0.0.1:$grpcport --tenant bench --json --timeout 7200 "$@"; }
  idp=$(ctl idp create --name "bench-$case-$RANDOM" --corp-id dingsimcorp00000000000000000000001 \
        --app-key dingsimappkey00001 --app-secret sim-app-secret-0123456789 --scope all \
        | python3 -c 'import json,sys;print(json.load(sys.stdin)["idp_id"])')
  log "$case: syncing $USERS users / $DEPTS departments (sim qps=$qps)"
  start=$(date +%s.%N)
  run=$(ctl sync start --idp "$idp" --wait)
  end=$(date +%s.%N)
  rss=$(awk '/VmHWM/{print int($2/1024)}' /proc/$swpid/status)
  echo "$run" > "$tmp/run-$case.json"
  python3 - "$case" "$start" "$end" "$rss" "$USERS" "$DEPTS" "$qps" "$tmp/run-$case.json" <<'PY' | tee -a "$OUT"
import json, sys
case, start, end, rss, users, depts, qps, path = sys.argv[1:]
run = json.load(open(path))
run = run.get("run", run)
c = run.get("counts", {})
def n(k): return int(c.get(k, 0))
wall = float(end) - float(start)
applied = n("users_created") + n("users_updated")
base = {"users": int(users), "departments": int(depts)}
out = []
if case == "unthrottled":
    out.append({"bench": "full_sync.unthrottled", "metric": "users_per_s", "value": round(applied / wall, 1), "unit": "1/s", **base, "wall_s": round(wall, 2), "pg": "durable"})
    out.append({"bench": "sync_worker", "metric": "peak_rss", "value": int(rss), "unit": "MiB", **base})
else:
    calls = n("api_calls")
    # Minimum calls: every department listed once (listsub) and paged once per 100 direct members;
    # listsub and user_list have separate per-API limits, so the bound is the larger of the two.
    bound = max(int(depts), calls - int(depts)) / float(qps)
    out.append({"bench": "full_sync.throttled", "metric": "calls_per_user", "value": round(calls / int(users), 4), "unit": "1", **base})
    out.append({"bench": "full_sync.throttled", "metric": "wall_vs_api_bound", "value": round(wall / bound, 3), "unit": "ratio", "qps_limit": int(qps), "wall_s": round(wall, 1), "bound_s": round(bound, 1)})
for o in out: print(json.dumps(o))
PY
  kill $swpid $simpid 2>/dev/null || true; wait $swpid $simpid 2>/dev/null || true
  scripts/pg.sh stop "$tmp/pg" >/dev/null
 done
done
# Medians of the unthrottled runs just appended.
n=$(runs_of unthrottled)
case " $CASES " in *" unthrottled "*)
  tail -n 200 "$OUT" | python3 -c '
import json, statistics, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in sys.stdin if l.strip()]
ups = [r for r in rows if r.get("bench") == "full_sync.unthrottled" and r.get("metric") == "users_per_s"][-n:]
rss = [r for r in rows if r.get("bench") == "sync_worker" and r.get("metric") == "peak_rss"][-n:]
base = {"users": ups[-1]["users"], "departments": ups[-1]["departments"], "runs": len(ups), "stat": "median"}
print(json.dumps({"bench": "full_sync.unthrottled", "metric": "users_per_s_median", "value": statistics.median(r["value"] for r in ups), "unit": "1/s", **base, "min": min(r["value"] for r in ups), "max": max(r["value"] for r in ups), "pg": "durable"}))
print(json.dumps({"bench": "sync_worker", "metric": "peak_rss_median", "value": statistics.median(r["value"] for r in rss), "unit": "MiB", **base}))
' "$n" | tee -a "$OUT" ;;
esac
