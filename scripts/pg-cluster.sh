#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster on a loopback port, for tests and benchmarks.
#
#   scripts/pg-cluster.sh start DIR [--durable]   initdb + start; writes DIR/conninfo
#   scripts/pg-cluster.sh stop DIR                stop and delete it
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (made by
# Debian's package). Authentication is `trust` on 127.0.0.1 only, user `perch`. Without
# --durable, fsync is off (tests); with it the server commits as in production (benchmarks).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  durable=${3:-}
  mkdir -p "$dir"
  if [ -f "$dir/data_dir" ] && as_owner "$bin/pg_ctl" -D "$(cat "$dir/data_dir")" status >/dev/null 2>&1; then
    echo "already running: $(cat "$dir/conninfo")"; exit 0
  fi
  # The data directory lives under /tmp so that its owner can reach it whatever DIR's parents allow.
  data=$(mktemp -d /tmp/perch-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  echo "$data" > "$dir/data_dir"
  as_owner "$bin/initdb" -D "$data/db" -U perch -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c max_connections=200"
  opts="$opts -c shared_buffers=256MB -c max_wal_size=2GB"
  if [ "$durable" != "--durable" ]; then opts="$opts -c fsync=off -c full_page_writes=off"; fi
  as_owner "$bin/pg_ctl" -D "$data/db" -o "$opts" -l "$data/server.log" -w -t 60 start >/dev/null ||
    { cat "$data/server.log" >&2; exit 1; }
  echo "host=127.0.0.1 port=$port user=perch" > "$dir/conninfo"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $data)"
  ;;
stop)
  [ -f "$dir/data_dir" ] || exit 0
  data=$(cat "$dir/data_dir")
  as_owner "$bin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$data" "$dir/data_dir" "$dir/conninfo"
  echo "PostgreSQL stopped"
  ;;
*)
  echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2 ;;
esac
