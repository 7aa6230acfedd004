#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster on a loopback port, for tests and benchmarks.
#
#   scripts/pg-cluster.sh start DIR [--durable]   initdb + start; writes DIR/conninfo
#   scripts/pg-cluster.sh stop DIR                stop and delete it
#   scripts/pg-cluster.sh replica DIR PRIMARY_DIR [--durable]
#                                                 a streaming replica of the cluster in
#                                                 PRIMARY_DIR, made its synchronous standby
#   scripts/pg-cluster.sh promote DIR             the replica becomes a primary
#   scripts/pg-cluster.sh kill DIR                SIGKILL the cluster's postmaster (a crash)
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (made by
# Debian's package). Authentication is `trust` on 127.0.0.1 only, user `perch`. Without
# --durable, fsync is off (tests); with it the server commits as in production (benchmarks).
# PG_PORT in the environment chooses the port (a free one otherwise).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
usage="usage: $0 start|stop|promote|kill DIR [--durable] | replica DIR PRIMARY_DIR [--durable]"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "$usage" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the cluster of "$data/db" on a free loopback port; writes DIR/conninfo.
serve() {
  local durable=$1 port opts
  port=${PG_PORT:-$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c max_connections=200"
  opts="$opts -c shared_buffers=256MB -c max_wal_size=2GB"
  if [ "$durable" != "--durable" ]; then opts="$opts -c fsync=off -c full_page_writes=off"; fi
  as_owner "$bin/pg_ctl" -D "$data/db" -o "$opts" -l "$data/server.log" -w -t 60 start >/dev/null ||
    { cat "$data/server.log" >&2; exit 1; }
  echo "host=127.0.0.1 port=$port user=perch" > "$dir/conninfo"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $data)"
}

# A new data directory under /tmp, so that its owner can reach it whatever DIR's parents allow.
new_data_dir() {
  mkdir -p "$dir"
  if [ -f "$dir/data_dir" ] && as_owner "$bin/pg_ctl" -D "$(cat "$dir/data_dir")/db" status >/dev/null 2>&1; then
    echo "already running: $(cat "$dir/conninfo")"; exit 0
  fi
  data=$(mktemp -d /tmp/perch-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  echo "$data" > "$dir/data_dir"
}

case "$cmd" in
start)
  new_data_dir
  as_owner "$bin/initdb" -D "$data/db" -U perch -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  serve "${3:-}"
  ;;
replica)
  primary=${3:-}
  [ -f "$primary/conninfo" ] || { echo "$usage" >&2; exit 2; }
  new_data_dir
  # A copy of the primary that streams its changes (-R: standby.signal and primary_conninfo).
  as_owner "$bin/pg_basebackup" -d "$(cat "$primary/conninfo")" -D "$data/db" -X stream -R -c fast \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
  serve "${4:-}"
  # The primary's commits wait for this replica: what a client was told is stored survives
  # the primary's loss.
  psql "$(cat "$primary/conninfo") dbname=postgres" -qAt -c "ALTER SYSTEM SET synchronous_standby_names = '*'" \
    -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 300); do
    state=$(psql "$(cat "$primary/conninfo") dbname=postgres" -qAt -c "SELECT sync_state FROM pg_stat_replication")
    [ "$state" = sync ] && { echo "synchronous replica of $(cat "$primary/conninfo")"; exit 0; }
    sleep 0.1
  done
  echo "the replica did not become synchronous (state: ${state:-none})" >&2; exit 1
  ;;
promote)
  as_owner "$bin/pg_ctl" -D "$(cat "$dir/data_dir")/db" -w -t 60 promote >/dev/null
  echo "promoted: $(cat "$dir/conninfo")"
  ;;
kill)
  pid=$(head -1 "$(cat "$dir/data_dir")/db/postmaster.pid")
  kill -KILL "$pid"
  echo "killed the postmaster ($pid)"
  ;;
stop)
  [ -f "$dir/data_dir" ] || exit 0
  data=$(cat "$dir/data_dir")
  as_owner "$bin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$data" "$dir/data_dir" "$dir/conninfo"
  echo "PostgreSQL stopped"
  ;;
*)
  echo "$usage" >&2; exit 2 ;;
esac
