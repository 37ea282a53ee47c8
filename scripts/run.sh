#!/usr/bin/env bash
# The run command: installs what is missing, builds, starts a throwaway PostgreSQL under .tmp/run,
# applies migrations, starts the services and the DingTalk simulator, creates the demo identity
# source and syncs the simulated organisation into the directory, then waits.
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
HTTP_PORT=${SASE_RUN_HTTP_PORT:-8080}
INGRESS_METRICS=${SASE_RUN_INGRESS_METRICS_PORT:-9460}
SIM_PORT=${SASE_RUN_SIM_PORT:-18090}

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
# Every port must be free before anything starts: name the port and the variable that moves it.
taken=0
for pair in "SASE_RUN_PG_PORT=$PG_PORT" "SASE_RUN_SYNC_PORT=$SYNC_PORT" "SASE_RUN_DIRECTORY_PORT=$DIR_PORT" \
    "SASE_RUN_SYNC_METRICS_PORT=$SYNC_METRICS" "SASE_RUN_DIRECTORY_METRICS_PORT=$DIR_METRICS" \
    "SASE_RUN_HTTP_PORT=$HTTP_PORT" "SASE_RUN_INGRESS_METRICS_PORT=$INGRESS_METRICS" "SASE_RUN_SIM_PORT=$SIM_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${pair#*=}") 2>/dev/null; then
    echo "port ${pair#*=} on 127.0.0.1 is taken: choose another with ${pair%%=*}=<port> scripts/run.sh" >&2
    taken=1
  fi
done
[ "$taken" -eq 0 ] || exit 1
mkdir -p "$state"

dsn=$("$root/scripts/pg.sh" start "$pgdir" "$PG_PORT" durable)
echo "PostgreSQL 15 on 127.0.0.1:$PG_PORT (data in $pgdir)" >&2
trap 'echo; echo "shutting down..." >&2; stop_all; exit 0' INT TERM
"$bin/tools/migrate/sase_migrate" --pg_dsn="$dsn" 2>>"$state/migrate.log"

# A fixed development key-encryption key for the demo only; production reads it from a secret.
export SASE_DEMO_KEK="ZGVtby1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="
# The simulated DingTalk app (the simulator plays DingTalk on loopback).
APP_KEY=dingdemoappkey01
export SASE_APP_SECRET=demo-app-secret
AES_KEY=DemoAesKey0123456789abcdefghijklmnopqrstuvw
export SASE_CALLBACK_TOKEN=demo-callback-token
start() {
  local name=$1; shift
  "$@" >>"$state/$name.log" 2>&1 &
  echo "$! $name" >> "$state/pids"
}
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "service on port $1 did not start; see $state/*.log (a taken port is named there; the SASE_RUN_*_PORT variables move each port)" >&2
  stop_all
  exit 1
}
sim="http://127.0.0.1:$SIM_PORT"
# Internal gRPC in plaintext, which the services accept only on loopback addresses: this is a
# local demo. A deployment gives every service a certificate (grpc_tls_* keys; README).
export SASE_GRPC_PLAINTEXT=true
start sync_worker "$bin/services/sync_worker/sync_worker" --pg_dsn="$dsn" \
  --listen_addr="127.0.0.1:$SYNC_PORT" --metrics_addr="127.0.0.1:$SYNC_METRICS" \
  --kek_env=SASE_DEMO_KEK --public_host="localhost:$HTTP_PORT" \
  --dingtalk_oapi_base="$sim" --dingtalk_api_base="$sim"
start directory "$bin/services/directory/directory" --pg_dsn="$dsn" \
  --listen_addr="127.0.0.1:$DIR_PORT" --metrics_addr="127.0.0.1:$DIR_METRICS"
# Logon: the simulator plays DingTalk's authorize page and scripts.
start ingress "$bin/services/ingress/ingress" --listen_addr="127.0.0.1:$HTTP_PORT" \
  --metrics_addr="127.0.0.1:$INGRESS_METRICS" --sync_worker_addr="127.0.0.1:$SYNC_PORT" \
  --public_base_url="http://localhost:$HTTP_PORT" --dingtalk_authorize_url="$sim/oauth2/auth" \
  --dingtalk_qr_script_url="$sim/ddlogin.js" --dingtalk_jsapi_script_url="$sim/dingtalk.open.js"
wait_port "$SYNC_PORT"
wait_port "$DIR_PORT"
wait_port "$HTTP_PORT"

cli="$bin/tools/sasectl/sasectl"
# The identity source an admin would create in the console (secret from SASE_APP_SECRET).
idp=$("$cli" --json idp create --name demo-dingtalk --description "Demo DingTalk (simulated)" \
  --corp-id dingdemocorp --app-key "$APP_KEY" --aes-key "$AES_KEY" --token "$SASE_CALLBACK_TOKEN" \
  --cycle-hours 24 --login-redirect-uri "$sim/demo/client" | sed -n 's/.*"idp_id": *"\([^"]*\)".*/\1/p')
if [ -z "$idp" ]; then
  echo "could not create the demo identity source; see $state/sync_worker.log" >&2
  stop_all
  exit 1
fi
# The simulator: a generated organisation, DingTalk's wire format, and signed, encrypted event
# pushes to ingress for every change made through its admin API.
start dingtalk_sim "$bin/tools/dingtalk_sim/dingtalk_sim" --listen="127.0.0.1:$SIM_PORT" \
  --seed=7 --users="${SASE_DEMO_USERS:-300}" --departments="${SASE_DEMO_DEPARTMENTS:-25}" --max_depth=5 \
  --app_key="$APP_KEY" --app_secret="$SASE_APP_SECRET" --corp_id=dingdemocorp \
  --callback_url="http://127.0.0.1:$HTTP_PORT/dingtalk/events/$idp" \
  --callback_token="$SASE_CALLBACK_TOKEN" --callback_aes_key="$AES_KEY"
wait_port "$SIM_PORT"
echo "syncing the demo organisation from the DingTalk simulator..." >&2
"$cli" sync start --idp "$idp" --wait
# The enterprise identifier employees type into the SASE client.
"$cli" tenant set --enterprise-id demo-corp >/dev/null
login_url="http://localhost:$HTTP_PORT/dingtalk/login/$idp?redirect_uri=$sim/demo/client"

cat <<INFO

SASE DingTalk connector is running (logs in $state/):
  (internal gRPC is plaintext on loopback for this demo; deployments use mutual TLS)
  sync_worker     gRPC 127.0.0.1:$SYNC_PORT   metrics http://127.0.0.1:$SYNC_METRICS/metrics
  directory       gRPC 127.0.0.1:$DIR_PORT   metrics http://127.0.0.1:$DIR_METRICS/metrics
  ingress         HTTP http://127.0.0.1:$HTTP_PORT/dingtalk/events/$idp   metrics http://127.0.0.1:$INGRESS_METRICS/metrics
  DingTalk (sim)  http://127.0.0.1:$SIM_PORT   (admin API under /admin/)
  PostgreSQL      $dsn

Log on with DingTalk (the simulator's authorize page lets you pick a demo user):
  $login_url
  QR code:      http://localhost:$HTTP_PORT/dingtalk/login/$idp/qr?redirect_uri=$sim/demo/client
  discovery:    http://localhost:$HTTP_PORT/dingtalk/login?enterprise=demo-corp
  keys:         http://localhost:$HTTP_PORT/.well-known/jwks.json
  from a shell: $cli login-test --idp $idp --userid <a userid from "user list"> --redirect-uri $sim/demo/client

Identity source $idp (tenant "demo"). Try:
  $cli idp list
  $cli dept list --idp $idp --subtree
  $cli user list --idp $idp --dept 1 --subtree
  $cli user search --idp $idp 王
  $cli watch --idp $idp        # then, in another terminal, change DingTalk:
  curl -s -X POST http://127.0.0.1:$SIM_PORT/admin/users/add -d '{"name":"新同事","dept_id_list":[1]}'

Press Ctrl-C to stop (or run: scripts/run.sh stop).
INFO
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
