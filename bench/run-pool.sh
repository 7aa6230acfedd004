#!/usr/bin/env bash
# A pool of Perch servers on one throw-away PostgreSQL (durable commits), each on its own
# loopback address, with one perch-bench process per server (issue 14's pool benchmark).
#   bench/run-pool.sh BUILD_DIR SERVERS fanout --users 1000 --senders 10 --rate 60 --duration 20
# The room (benchroom1) is served by one server; the posting generator connects there with
# --users / SERVERS sessions (its senders among them), and a listening generator connects the
# same number of sessions to each other server (--senders 0): the first's deliveries are
# same-server, the others' cross-server, at the same load. Prints each generator's figures.
set -euo pipefail
build=${1:?build dir}; servers=${2:?number of servers}; shift 2
scenario=${1:?scenario}; shift
[ "$scenario" = fanout ] || { echo "run-pool.sh runs the fanout scenario" >&2; exit 2; }
source "$(dirname "$0")/load-size.sh"
perch="$build/src/perch"
bench="$build/bench/perch-bench"
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/perch-pool-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$root/scripts/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }

"$root/scripts/pg-cluster.sh" start "$dir/pg" --durable >&2
conninfo=$(cat "$dir/pg/conninfo")
psql "$conninfo dbname=postgres" -qc "CREATE DATABASE bench"
secret=$(openssl rand -hex 24)
ports=()
for i in $(seq 1 "$servers"); do
  host=127.0.0.$((10 + i)); port=$(free_port "$host"); peer=$(free_port "$host")
  ports+=("$port")
  mkdir -p "$dir/s$i"
  cat > "$dir/s$i/perch.toml" <<TOML
domain = "localhost"
data_dir = "$dir/s$i/var"
log_level = "${PERCH_LOG_LEVEL:-warn}"
io_threads = ${PERCH_IO_THREADS:-0}
secret = "$secret"
[c2s]
bind = "$host"
port = $port
direct_tls_port = 0
[http]
port = 0
tls_port = 0
[files]
dir = "$dir/files"
[store]
backend = "postgres"
url = "$conninfo dbname=bench"
[pool]
name = "p$i"
peer_bind = "$host"
peer_port = $peer
secret = "$secret"
TOML
done
"$perch" -c "$dir/s1/perch.toml" user bulk-add bench "$users" --password bench >/dev/null
"$perch" -c "$dir/s1/perch.toml" category add Bench >/dev/null
"$perch" -c "$dir/s1/perch.toml" room bulk-add benchroom "$rooms" --category Bench >/dev/null
for i in $(seq 1 "$servers"); do
  "$perch" serve -c "$dir/s$i/perch.toml" > "$dir/s$i/server.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 "$servers"); do
  for _ in $(seq 200); do
    [ "$(grep -c 'pool: linked with server' "$dir/s$i/server.log" || true)" -ge $((servers - 1)) ] && break
    sleep 0.1
  done
done
# The server of benchroom1: the highest rendezvous weight, as the servers compute it.
owner=$(/usr/bin/python3 - "$servers" <<'PY'
import hashlib, sys
n = int(sys.argv[1])
w = [int.from_bytes(hashlib.sha256(f"p{i}\0benchroom1".encode()).digest()[:8], "big") for i in range(1, n + 1)]
print(w.index(max(w)) + 1)
PY
)
echo "perch $(git -C "$root" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $servers servers, benchroom1 on p$owner"
share=$((users / servers))
args=("$@")
# Each generator gets its share of the sessions: --users replaced, --first-user set.
with_share() {
  local out=() skip=0
  for a in "${args[@]}"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    if [ "$a" = --users ]; then skip=1; continue; fi
    out+=("$a")
  done
  printf '%s\n' "${out[@]}"
}
mapfile -t rest < <(with_share)
rc=0
gens=()
n=0
for i in $(seq 1 "$servers"); do
  host=127.0.0.$((10 + i)); port=${ports[$((i - 1))]}
  first=$((n * share + 1)); n=$((n + 1))
  if [ "$i" = "$owner" ]; then
    "$bench" fanout --host "$host" --port "$port" --server-pid "${pids[$((i - 1))]}" \
      --users "$share" --first-user "$first" "${rest[@]}" > "$dir/gen$i.txt" 2>&1 &
  else
    listen=()
    for ((k = 0; k < ${#rest[@]}; k++)); do
      if [ "${rest[$k]}" = --senders ]; then k=$((k + 1)); continue; fi
      listen+=("${rest[$k]}")
    done
    "$bench" fanout --host "$host" --port "$port" --server-pid "${pids[$((i - 1))]}" \
      --users "$share" --first-user "$first" --senders 0 "${listen[@]}" > "$dir/gen$i.txt" 2>&1 &
  fi
  gens+=($!)
done
for g in "${gens[@]}"; do wait "$g" || rc=$?; done
for i in $(seq 1 "$servers"); do
  if [ "$i" = "$owner" ]; then echo "p$i (serves the room; its sessions post and receive: same-server):"
  else echo "p$i (receives from p$owner: cross-server):"; fi
  sed 's/^/  /' "$dir/gen$i.txt"
done
exit "$rc"
