#!/usr/bin/env bash
# The one-hour soak (issue 17): a fresh server on loopback (SQLite, compliance on, the default
# rate limits and login guard) under bench/soak.py's mixed load, then the compliance chain
# verified and the figures printed.
#   bench/soak.sh BUILD_DIR [MINUTES]        (default 60)
# Prints a progress line every 30 s, the JSON summary, and "soak: passed" or "soak: FAILED".
set -euo pipefail
build=${1:?build dir}
minutes=${2:-60}
perch="$build/src/perch"
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/perch-soak.XXXXXX)
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
http_port=$(free_port)
cat > "$dir/perch.toml" <<TOML
domain = "localhost"
data_dir = "$dir/var"
log_level = "info"
[c2s]
bind = "127.0.0.1"
port = $port
direct_tls_port = 0
[http]
bind = "127.0.0.1"
port = $http_port
tls_port = 0
public_url = "http://localhost:$http_port"
[compliance]
enabled = true
run_interval_s = 60
[admin]
port = 0
TOML
pid=
cleanup() {
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true
  rm -rf "$dir"
}
trap cleanup EXIT
rooms=10
"$perch" -c "$dir/perch.toml" user bulk-add soak 80 --password soak >/dev/null
"$perch" -c "$dir/perch.toml" category add Soak >/dev/null
"$perch" -c "$dir/perch.toml" room bulk-add soakroom "$rooms" --category Soak >/dev/null
"$perch" serve -c "$dir/perch.toml" > "$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done
echo "perch $(git -C "$root" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $minutes min"
rc=0
/usr/bin/python3 "$root/bench/soak.py" --port "$port" --http-port "$http_port" --server-pid "$pid" \
  --db "$dir/var/perch.db" --minutes "$minutes" --rooms "$rooms" || rc=$?
kill "$pid"; wait "$pid" || true
pid=
echo "server log: $(grep -c '' "$dir/server.log") lines, $(grep -c -E '\] \[(error|critical)\]' "$dir/server.log" || true) errors"
grep -E '\] \[(error|critical)\]' "$dir/server.log" | sed 's/^\[[^]]*\] //' | sort | uniq -c | sort -rn | head -5 || true
"$perch" -c "$dir/perch.toml" compliance verify || rc=1
exit $rc
