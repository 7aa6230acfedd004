#!/usr/bin/env bash
# A pool of Perch servers on one throw-away PostgreSQL (durable commits), each on its own
# loopback address (127.0.1.11 …: apart from the generators' sources 127.0.0.N, so that a
# restarted server's ports are never a client's), with one perch-bench process per server
# (issue 14's pool benchmarks).
#
#   bench/run-pool.sh BUILD_DIR SERVERS fanout --users 1000 --senders 10 --rate 60 --duration 20
# The room (benchroom1) is served by one server; the posting generator connects there with
# --users / SERVERS sessions (its senders among them), and a listening generator connects the
# same number of sessions to each other server (--senders 0): the first's deliveries are
# same-server, the others' cross-server, at the same load. Prints each generator's figures.
#
#   bench/run-pool.sh BUILD_DIR SERVERS lync-model --factor 0.97 --duration 60 --timeout 900
# The original's capacity model, its users dealt to the servers in turn (user u on server
# u % SERVERS + 1, so nearly every room has occupants on every server), one generator process
# per server; posting starts once every generator has joined all its sessions. With
# PERCH_POOL_KILL=N (and PERCH_POOL_KILL_AFTER=S, default 20) server N is killed (SIGKILL) S
# seconds into the posting; its sessions reconnect to the other servers. With PERCH_POOL_RETURN_AFTER=S
# as well it starts again S seconds after the kill (growth under load: its rooms move back),
# and the run reports when each server saw it and had the moved rooms served. Afterwards every post
# a sender saw acknowledged is looked up in the archive: there exactly once, or the run fails.
# With PERCH_POOL_STANDBY=1 one more server runs as the pool's standby (a topology is
# published; PERCH_POOL_STANDBY_AFTER, default 30, is its standby_after_s), with no generator
# of its own: after the kill it takes the dead server's slot by itself, and the run reports
# when; the lost sessions reconnect to it (the others are near their capacity). PERCH_BENCH_KEEP=1 keeps the run's directory (configurations, servers' logs).
# PERCH_STORE_POOL_SIZE=N sets the servers' store.pool_size (their default otherwise).
set -euo pipefail
build=${1:?build dir}; servers=${2:?number of servers}; shift 2
scenario=${1:?scenario}; shift
case "$scenario" in fanout|lync-model) ;; *) echo "run-pool.sh runs fanout or lync-model" >&2; exit 2 ;; esac
source "$(dirname "$0")/load-size.sh"
perch="$build/src/perch"
bench="$build/bench/perch-bench"
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/perch-pool-bench.XXXXXX)
pids=()
gens=()
cleanup() {
  for p in "${gens[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$root/scripts/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || true
  if [ -n "${PERCH_BENCH_KEEP:-}" ]; then echo "kept $dir (servers' logs in s*/server.log)" >&2
  else rm -rf "$dir"; fi
}
trap cleanup EXIT
# The capacity model over all servers; see the head of this file.
lync_model() {
  local barrier="$dir/barrier" kill_n=${PERCH_POOL_KILL:-0} kill_after=${PERCH_POOL_KILL_AFTER:-20}
  mkdir -p "$barrier"
  local started=$SECONDS rc=0
  for i in $(seq 1 "$servers"); do
    local failover=()
    if [ "$kill_n" != 0 ] && [ "$standby" = 1 ]; then
      # The active servers are near their capacity: the lost sessions go to the standby,
      # which sends them away (see-other-host: they try again later) until it holds a slot.
      failover+=(--failover "127.0.1.$((10 + total)):${ports[$((total - 1))]}")
    elif [ "$kill_n" != 0 ]; then
      for k in $(seq 1 "$servers"); do
        [ "$k" = "$i" ] || failover+=(--failover "127.0.1.$((10 + k)):${ports[$((k - 1))]}")
      done
    fi
    "$bench" lync-model --host "127.0.1.$((10 + i))" --port "${ports[$((i - 1))]}" \
      --server-pid "${pids[$((i - 1))]}" --slice $((i - 1)) --slices "$servers" \
      --barrier "$barrier" --acked "$dir/acked$i" "${failover[@]}" "$@" > "$dir/gen$i.txt" 2>&1 &
    gens+=($!)
  done
  # Everyone joined: the slowest generator's figure; then all post together.
  while [ "$(find "$barrier" -name 'joined.*' | wc -l)" -lt "$servers" ]; do
    for g in "${gens[@]}"; do
      kill -0 "$g" 2>/dev/null && continue
      echo "a generator ended before joining:" >&2
      for f in "$dir"/gen*.txt; do echo "$f:"; tail -n 8 "$f"; done >&2
      return 1
    done
    sleep 1
    [ $(((SECONDS - started) % 30)) -ne 0 ] || echo "  $((SECONDS - started)) s: $(find "$barrier" -name 'joined.*' | wc -l) of $servers generators joined" >&2
  done
  echo "all $users sessions joined their rooms: slowest generator after $(sort -g "$barrier"/joined.* | tail -1) s"
  for i in $(seq 1 "$servers"); do
    echo "  p$i: RSS $(($(awk '/VmRSS/ {print $2}' "/proc/${pids[$((i - 1))]}/status") / 1024)) MB"
  done
  touch "$barrier/go"
  if [ "$kill_n" != 0 ]; then
    sleep "$kill_after"
    /usr/bin/python3 -c 'import time; print(time.monotonic_ns())' > "$barrier/killed"
    date -u +%s.%N > "$dir/killed_at"
    kill -9 "${pids[$((kill_n - 1))]}"
    echo "killed p$kill_n (SIGKILL) ${kill_after} s into the posting"
    if [ -n "${PERCH_POOL_RETURN_AFTER:-}" ]; then
      # Growth under load: the killed server starts again; the rooms that hash to it move
      # back, their occupants adopted by it (its former users stay where they reconnected).
      sleep "$PERCH_POOL_RETURN_AFTER"
      date -u +%s.%N > "$dir/returned_at"
      "$perch" serve -c "$dir/s$kill_n/perch.toml" >> "$dir/s$kill_n/server.log" 2>&1 &
      pids+=($!)
      echo "started p$kill_n again ${PERCH_POOL_RETURN_AFTER} s after the kill"
    fi
  fi
  for g in "${gens[@]}"; do wait "$g" || rc=$?; done
  for i in $(seq 1 "$servers"); do
    echo "generator $i (sessions on p$i):"
    sed 's/^/  /' "$dir/gen$i.txt"
  done
  if [ "$standby" = 1 ] && [ -f "$dir/killed_at" ]; then
    # When the standby took the slot, from its log's (UTC) time stamp.
    /usr/bin/python3 - "$dir/killed_at" "$dir/s$total/server.log" "p$total" <<'PY'
import datetime, re, sys
killed = float(open(sys.argv[1]).read())
for line in open(sys.argv[2], errors="replace"):
    m = re.match(r"\[(\S+ \S+)\].*pool: (\S+) took the active slot of (\S+)", line)
    if m:
        at = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        print(f"standby {m.group(2)} took the slot of {m.group(3)} {at - killed:.1f} s after the kill")
        break
else:
    print(f"standby {sys.argv[3]} took no slot")
PY
  fi
  if [ -f "$dir/returned_at" ]; then
    # From the servers' logs (UTC time stamps): when each server saw the returning one and
    # when the rooms that moved were served there with their occupants.
    /usr/bin/python3 - "$dir/returned_at" "$servers" "$dir" "$kill_n" <<'PY'
import datetime, re, sys
back = float(open(sys.argv[1]).read())
returned = int(sys.argv[4])
def at(line):
    m = re.match(r"\[(\S+ \S+)\]", line)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp() if m else None
for i in range(1, int(sys.argv[2]) + 1):
    if i == returned:
        continue
    seen = moved = None
    for line in open(f"{sys.argv[3]}/s{i}/server.log", errors="replace"):
        t = at(line)
        if t is None or t < back:
            continue
        if seen is None and "pool: live servers now" in line:
            seen = t - back
        m = re.search(r"the rooms moved in (\S+) s", line)
        if moved is None and m:
            moved = (t - back, m.group(1))
    told = f"saw it {seen:.1f} s after its start" if seen is not None else "never saw it"
    if moved:
        told += f", rooms moved in {moved[1]} s (done {moved[0]:.1f} s after the start)"
    print(f"  p{i}: {told}")
PY
  fi
  # Every acknowledged post in the archive exactly once; nothing stored twice.
  psql "$conninfo dbname=bench" -Atc \
    "SELECT split_part(body, ' ', 3) FROM messages WHERE body LIKE 'bench %'" > "$dir/stored"
  /usr/bin/python3 - "$dir/stored" "$dir"/acked* <<'PY' || rc=1
import collections, sys
stored = collections.Counter(l.strip() for l in open(sys.argv[1]) if l.strip())
acked = [l.strip() for f in sys.argv[2:] for l in open(f) if l.strip()]
missing = [k for k in acked if stored[k] == 0]
twice = [k for k, n in stored.items() if n > 1]
print(f"archive: {sum(stored.values())} bench posts stored, {len(acked)} acknowledged; "
      f"{len(missing)} acknowledged but missing, {len(twice)} stored twice")
sys.exit(1 if missing or twice else 0)
PY
  return "$rc"
}
free_port() { /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }

"$root/scripts/pg-cluster.sh" start "$dir/pg" --durable >&2
conninfo=$(cat "$dir/pg/conninfo")
psql "$conninfo dbname=postgres" -qc "CREATE DATABASE bench"
secret=$(openssl rand -hex 24)
ports=()
peers=()
standby=${PERCH_POOL_STANDBY:-0}
total=$((servers + standby))
for i in $(seq 1 "$total"); do
  host=127.0.1.$((10 + i)); port=$(free_port "$host"); peer=$(free_port "$host")
  ports+=("$port")
  peers+=("$peer")
  mkdir -p "$dir/s$i"
  cat > "$dir/s$i/perch.toml" <<TOML
domain = "localhost"
data_dir = "$dir/s$i/var"
log_level = "${PERCH_LOG_LEVEL:-info}"  # the pool's links are told at info
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
${PERCH_STORE_POOL_SIZE:+pool_size = $PERCH_STORE_POOL_SIZE}
[pool]
name = "p$i"
peer_bind = "$host"
peer_port = $peer
secret = "$secret"
[admin]
port = 0
TOML
done
echo "provisioning $users accounts and $rooms rooms" >&2
"$perch" -c "$dir/s1/perch.toml" user bulk-add bench "$users" --password bench >/dev/null
"$perch" -c "$dir/s1/perch.toml" category add Bench >/dev/null
"$perch" -c "$dir/s1/perch.toml" room bulk-add benchroom "$rooms" --category Bench >/dev/null
for i in $(seq 1 "$total"); do
  "$perch" serve -c "$dir/s$i/perch.toml" > "$dir/s$i/server.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 "$total"); do
  for _ in $(seq 200); do
    [ "$(grep -c 'pool: linked with server' "$dir/s$i/server.log" || true)" -ge $((total - 1)) ] && break
    sleep 0.1
  done
done
if [ "$standby" = 1 ]; then
  {
    printf '[databases.content]\nurl = "%s dbname=bench"\n[[pools]]\nname = "bench"\n' "$conninfo"
    printf 'content_database = "content"\nfile_store = "%s"\nstandby_after_s = %s\n' "$dir/files" "${PERCH_POOL_STANDBY_AFTER:-30}"
    for i in $(seq 1 "$total"); do
      printf '[[pools.servers]]\nname = "p%s"\nclient_address = "127.0.1.%s:%s"\npeer_address = "127.0.1.%s:%s"\n' \
        "$i" $((10 + i)) "${ports[$((i - 1))]}" $((10 + i)) "${peers[$((i - 1))]}"
      [ "$i" = "$total" ] && printf 'role = "standby"\n'
    done
  } > "$dir/topology.toml"
  "$perch" -c "$dir/s1/perch.toml" topology publish "$dir/topology.toml" >&2
  # Every server applies the topology before any client comes (a join in between could reach
  # the standby while it still served rooms).
  for i in $(seq 1 "$total"); do
    for _ in $(seq 100); do
      grep -q "p$total (standby)" "$dir/s$i/server.log" && break
      sleep 0.1
    done
  done
fi
echo "perch $(git -C "$root" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $servers servers$([ "$standby" = 1 ] && echo " + 1 standby")"
[ "$scenario" = lync-model ] && { lync_model "$@"; exit $?; }
# The server of benchroom1: the highest rendezvous weight, as the servers compute it.
owner=$(/usr/bin/python3 - "$servers" <<'PY'
import hashlib, sys
n = int(sys.argv[1])
w = [int.from_bytes(hashlib.sha256(f"p{i}\0benchroom1".encode()).digest()[:8], "big") for i in range(1, n + 1)]
print(w.index(max(w)) + 1)
PY
)
echo "benchroom1 is served by p$owner"
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
n=0
for i in $(seq 1 "$servers"); do
  host=127.0.1.$((10 + i)); port=${ports[$((i - 1))]}
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
