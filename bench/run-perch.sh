#!/usr/bin/env bash
# Runs one perch-bench scenario against a fresh Perch server on loopback.
#   bench/run-perch.sh BUILD_DIR connect --users 10000 --rooms 100 --rooms-per-user 2 --idle 10
#   bench/run-perch.sh BUILD_DIR fanout --users 1000 --senders 10 --rate 20 --duration 20
# Provisions USERS accounts (bench1..N, password "bench") and ROOMS rooms (benchroom1..N) in a
# temporary data directory, starts the server, runs the load, stops the server, prints figures.
# PERCH_BENCH_STORE=FILE runs on an existing SQLite content database instead (for example one
# perch-store-bench loaded with millions of messages; its rooms are room1..N, so pass
# --room-prefix room): accounts are added to it, rooms are not.
# PERCH_BENCH_LISTENER="ARGS" runs a second perch-bench alongside (for example
# "fanout --users 1 --first-user 16001 --senders 0 --duration 20": one session that only times
# deliveries, away from the main generator's load); PERCH_BENCH_ACCOUNTS overrides how many
# accounts are provisioned (the listener's too).
# PERCH_BENCH_WRAPPER="TOOL ARGS" runs the server under a tool (heaptrack, perf record …).
# PERCH_BENCH_BACKEND=postgres stores on a throw-away PostgreSQL cluster with durable commits
# (scripts/pg-cluster.sh --durable), started and deleted here, instead of SQLite.
set -euo pipefail
build=${1:?build dir}; shift
scenario=${1:?scenario}; shift
source "$(dirname "$0")/load-size.sh"
perch="$build/src/perch"
bench="$build/bench/perch-bench"
dir=$(mktemp -d /tmp/perch-bench.XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/perch.toml" <<TOML
domain = "localhost"
data_dir = "$dir/var"
log_level = "${PERCH_LOG_LEVEL:-warn}"
io_threads = ${PERCH_IO_THREADS:-0}
[c2s]
bind = "127.0.0.1"
port = $port
direct_tls_port = 0
# The scenarios post faster per sender than a person does (fanout: 20 a second each); the
# per-session and per-occupant rate limits would refuse them, so they are off here.
stanzas_per_second = 0
[muc]
posts_per_second = 0
[http]
port = 0
tls_port = 0
[admin]
port = 0
TOML
users=${PERCH_BENCH_ACCOUNTS:-$users}
pid=
root=$(cd "$(dirname "$0")/.." && pwd)
cleanup() {
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  [ ! -d "$dir/pg" ] || "$root/scripts/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
if [ -n "${PERCH_BENCH_STORE:-}" ]; then
  printf '[store]\npath = "%s"\n' "$PERCH_BENCH_STORE" >> "$dir/perch.toml"
  rooms=0
elif [ "${PERCH_BENCH_BACKEND:-sqlite}" = postgres ]; then
  "$root/scripts/pg-cluster.sh" start "$dir/pg" --durable >&2
  conninfo=$(cat "$dir/pg/conninfo")
  psql "$conninfo dbname=postgres" -qc "CREATE DATABASE bench"
  printf '[store]\nbackend = "postgres"\nurl = "%s dbname=bench"\n' "$conninfo" >> "$dir/perch.toml"
fi
"$perch" -c "$dir/perch.toml" user bulk-add bench "$users" --password bench >/dev/null
[ -n "${PERCH_BENCH_STORE:-}" ] || "$perch" -c "$dir/perch.toml" category add Bench >/dev/null
if [ "$rooms" -gt 0 ]; then "$perch" -c "$dir/perch.toml" room bulk-add benchroom "$rooms" --category Bench >/dev/null; fi
# PERCH_BENCH_WRAPPER runs the server under a tool, e.g. "heaptrack -o /tmp/perch-heap".
# shellcheck disable=SC2086  # the wrapper's arguments are words
${PERCH_BENCH_WRAPPER:-} "$perch" serve -c "$dir/perch.toml" > "$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done
echo "perch $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
rc=0
if [ -n "${PERCH_BENCH_LISTENER:-}" ]; then
  # shellcheck disable=SC2086  # the listener's arguments are words
  "$bench" $PERCH_BENCH_LISTENER --port "$port" > "$dir/listener.txt" 2>&1 &
  listener=$!
fi
"$bench" "$scenario" --port "$port" --server-pid "$pid" "$@" || rc=$?
if [ -n "${PERCH_BENCH_LISTENER:-}" ]; then
  wait "$listener" || rc=$?
  echo "listener ($PERCH_BENCH_LISTENER):"; cat "$dir/listener.txt"
fi
if [ "$rc" -ne 0 ]; then
  echo "run failed (exit $rc); sockets of the server port with queued bytes:"
  ss -tnH "( sport = :$port or dport = :$port )" | awk '$2 > 0 || $3 > 0' | head -20 || true
  [ -z "${PERCH_KEEP_BENCH:-}" ] || cp "$dir/server.log" "/tmp/failed-bench-server.$pid.log"
fi
exit "$rc"
