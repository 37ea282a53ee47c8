#!/usr/bin/env bash
# Full-sync benchmark: sync_worker (built binary) against the DingTalk simulator (separate process),
# PostgreSQL durable. Case "unthrottled": an initial sync (users/s applied), then an unchanged
# re-sync of the same directory (users/s fetched and compared, 0 written); for each, CPU seconds of
# sync_worker, the simulator and PostgreSQL (bench/proc_cpu.py), sync_worker CPU per user, the top
# statements from pg_stat_statements, and sync_worker peak RSS. Case "throttled"
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
  dsn=$(PG_OPTS="-c shared_preload_libraries=pg_stat_statements" scripts/pg.sh start "$tmp/pg" "$pgport" durable)  # fresh per run
  qps=0; [ "$case" = throttled ] && qps=20
  simport=$(free_port); grpcport=$(free_port); metport=$(free_port)
  # Truncated here, not by the child's redirect: the readiness greps below must not find the
  # previous run's "listening" / "serving" line before the new process has written its own.
  : > "$tmp/sim.log"; : > "$tmp/sync_worker.log"
  "$build/tools/dingtalk_sim/dingtalk_sim" --listen=127.0.0.1:$simport --users=$USERS --departments=$DEPTS \
    --max_depth=$DEPTH --qps=$qps >"$tmp/sim.log" 2>&1 &
  simpid=$!; pids+=($simpid)
  for _ in $(seq 1 600); do grep -q listening "$tmp/sim.log" && break; sleep 0.1; done
  # Unthrottled lifts the per-API and the process-wide caps too (dingtalk_process_qps, 400 by
  # default, stays under DingTalk's IP ban of 500/s): otherwise it measures our own limiter.
  SASE_PG_DSN=$dsn "$build/services/sync_worker/sync_worker" --kek_env=SASE_KEK --migrate_on_start \
    --listen_addr=127.0.0.1:$grpcport --metrics_addr=127.0.0.1:$metport --sync_scheduler=false \
    --dingtalk_oapi_base=http://127.0.0.1:$simport --dingtalk_api_base=http://127.0.0.1:$simport \
    --dingtalk_qps=$([ $qps = 0 ] && echo 1000 || echo $qps) --dingtalk_process_qps=$([ $qps = 0 ] && echo 10000 || echo 400) \
    >"$tmp/sync_worker.log" 2>&1 &
  swpid=$!; pids+=($swpid)
  for _ in $(seq 1 300); do grep -q 'sync_worker serving' "$tmp/sync_worker.log" && break; sleep 0.1; done
  ctl() { "$build/tools/sasectl/sasectl" --sync-worker 127.0.0.1:$grpcport --tenant bench --json --timeout 7200 "$@"; }
  idp=$(ctl idp create --name "bench-$case-$RANDOM" --corp-id dingsimcorp00000000000000000000001 \
        --app-key dingsimappkey00001 --app-secret sim-app-secret-0123456789 --scope all \
        | python3 -c 'import json,sys;print(json.load(sys.stdin)["idp_id"])')
  pgpid=$(head -1 "$tmp/pg/data/postmaster.pid")
  psql_pg() { psql -qAt "postgresql://postgres@127.0.0.1:$pgport/sase" -v ON_ERROR_STOP=1 "$@"; }
  psql_pg -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  # One sync, measured: wall time, counts, CPU seconds of sync_worker, the simulator and the
  # whole PostgreSQL cluster, and the cluster's top statements by execution time.
  sync_once() {  # $1: phase (initial | resync)
    local phase=$1
    psql_pg -c "SELECT pg_stat_statements_reset()" >/dev/null
    read -r sw0 sim0 < <(python3 bench/proc_cpu.py "$swpid" "$simpid")
    pg0=$(python3 bench/proc_cpu.py --tree "$pgpid")
    log "$case/$phase: syncing $USERS users / $DEPTS departments (sim qps=$qps)"
    start=$(date +%s.%N)
    ctl sync start --idp "$idp" --wait > "$tmp/run-$case-$phase.json"
    end=$(date +%s.%N)
    read -r sw1 sim1 < <(python3 bench/proc_cpu.py "$swpid" "$simpid")
    pg1=$(python3 bench/proc_cpu.py --tree "$pgpid")
    rss=$(awk '/VmHWM/{print int($2/1024)}' /proc/$swpid/status)
    psql_pg -F $'\t' -c "SELECT round(total_exec_time::numeric, 1), calls, rows, regexp_replace(left(query, 160), '\s+', ' ', 'g')
                         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'sase')
                         ORDER BY total_exec_time DESC LIMIT 5" > "$tmp/pg-top-$case-$phase.tsv"
    python3 - "$case" "$phase" "$start" "$end" "$rss" "$USERS" "$DEPTS" "$qps" "$tmp/run-$case-$phase.json" \
      "$sw0" "$sw1" "$sim0" "$sim1" "$pg0" "$pg1" "$tmp/pg-top-$case-$phase.tsv" "$commit" <<'PY' | tee -a "$OUT"
import json, sys
case, phase, start, end, rss, users, depts, qps, path, sw0, sw1, sim0, sim1, pg0, pg1, top, commit = sys.argv[1:]
run = json.load(open(path))
run = run.get("run", run)
c = run.get("counts", {})
def n(k): return int(c.get(k, 0))
# The run's own start and end (sasectl --wait polls, which would add up to its poll interval).
from datetime import datetime
def ts(v): return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
client_wall = float(end) - float(start)
wall = ts(run["end_time"]) - ts(run["start_time"])
written = n("users_created") + n("users_updated")
fetched = n("users_fetched")
cpu = {"sync_worker": float(sw1) - float(sw0), "simulator": float(sim1) - float(sim0), "postgres": float(pg1) - float(pg0)}
base = {"users": int(users), "departments": int(depts), "commit": commit}
out = []
if case == "unthrottled":
    name = "full_sync.unthrottled" if phase == "initial" else "full_sync.resync"
    # Initial: users applied per second. Re-sync: users fetched and compared per second (0 written).
    rate = (written if phase == "initial" else fetched) / wall
    out.append({"bench": name, "metric": "users_per_s", "value": round(rate, 1), "unit": "1/s", **base,
                "wall_s": round(wall, 2), "client_wall_s": round(client_wall, 2), "users_written": written, "pg": "durable"})
    out.append({"bench": name, "metric": "cpu_s", "value": round(sum(cpu.values()), 2), "unit": "s", **base,
                **{k: round(v, 2) for k, v in cpu.items()}, "cores_busy": round(sum(cpu.values()) / client_wall, 2)})
    out.append({"bench": name, "metric": "sync_worker_cpu_per_user", "value": round(cpu["sync_worker"] / max(fetched, 1) * 1e6, 1),
                "unit": "us", **base})
    for line in open(top):
        ms, calls, rows, query = line.rstrip("\n").split("\t", 3)
        out.append({"bench": name, "metric": "pg_top_statement_ms", "value": float(ms), "unit": "ms", "calls": int(calls),
                    "rows": int(rows), "query": query, **base})
    out.append({"bench": "sync_worker", "metric": "peak_rss", "value": int(rss), "unit": "MiB", "phase": phase, **base})
else:
    calls = n("api_calls")
    # Minimum calls: every department listed once (listsub) and paged once per 100 direct members;
    # listsub and user_list have separate per-API limits, so the bound is the larger of the two.
    bound = max(int(depts), calls - int(depts)) / float(qps)
    out.append({"bench": "full_sync.throttled", "metric": "calls_per_user", "value": round(calls / int(users), 4), "unit": "1", **base})
    out.append({"bench": "full_sync.throttled", "metric": "wall_vs_api_bound", "value": round(wall / bound, 3), "unit": "ratio", "qps_limit": int(qps), "wall_s": round(wall, 1), "bound_s": round(bound, 1), **base})
for o in out: print(json.dumps(o, ensure_ascii=False))
PY
  }
  sync_once initial
  [ "$case" = unthrottled ] && sync_once resync
  kill $swpid $simpid 2>/dev/null || true; wait $swpid $simpid 2>/dev/null || true
  scripts/pg.sh stop "$tmp/pg" >/dev/null
 done
done
# Medians of the unthrottled runs just appended.
n=$(runs_of unthrottled)
case " $CASES " in *" unthrottled "*)
  tail -n 400 "$OUT" | python3 -c '
import json, statistics, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in sys.stdin if l.strip()]
def last(bench, metric):
    return [r for r in rows if r.get("bench") == bench and r.get("metric") == metric][-n:]
def median(bench, metric, **extra):
    rs = last(bench, metric)
    if not rs: return
    vals = [r["value"] for r in rs]
    print(json.dumps({"bench": bench, "metric": metric + "_median", "value": statistics.median(vals), "unit": rs[-1]["unit"],
                      "users": rs[-1]["users"], "departments": rs[-1]["departments"], "commit": rs[-1].get("commit"),
                      "runs": len(rs), "stat": "median", "min": min(vals), "max": max(vals), **extra}))
for b in ("full_sync.unthrottled", "full_sync.resync"):
    median(b, "users_per_s", pg="durable")
    median(b, "cpu_s")
    median(b, "sync_worker_cpu_per_user")
median("sync_worker", "peak_rss")
' "$n" | tee -a "$OUT" ;;
esac
