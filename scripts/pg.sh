#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster under a project-local directory, on loopback.
#   scripts/pg.sh start DIR PORT [durable]   -> prints the DSN on stdout
#   scripts/pg.sh stop DIR
# "durable" keeps fsync/synchronous_commit/full_page_writes on (for benchmarks); tests run without.
# PG_OPTS adds server options (benchmarks: -c shared_preload_libraries=pg_stat_statements).
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:?directory}")
PGBIN=/usr/lib/postgresql/15/bin
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    port=${3:?port}
    mode=${4:-fast}
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    # The cluster runs as postgres: every parent must be traversable.
    p="$dir"; while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg mkdir -p "$dir/sock"
    opts="-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB"
    if [ "$mode" != durable ]; then
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    opts="$opts ${PG_OPTS:-}"
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 -o "$opts" start >/dev/null \
      || { cat "$dir/pg.log" >&2; exit 1; }
    as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE sase LOGIN CREATEDB PASSWORD 'sase'" -c "CREATE DATABASE sase OWNER sase" >/dev/null
    echo "postgresql://sase:sase@127.0.0.1:$port/sase"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
  *) echo "usage: $0 start DIR PORT [durable] | stop DIR" >&2; exit 2 ;;
esac
