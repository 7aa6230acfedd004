#!/usr/bin/env bash
# Prosody (Debian's 0.12) on loopback for the side-by-side benchmarks.
#   bench/peers/prosody.sh start DIR PORT USERS   accounts bench1..USERS (password "bench")
#   bench/peers/prosody.sh stop DIR
# Same ground as Perch: plain TCP c2s, SCRAM-SHA-256 over stored salted keys (4096 iterations,
# like `perch user bulk-add`), one shared salt so provisioning takes seconds; MUC on
# chat.localhost with MAM (mod_muc_mam, archiving on by default), rooms made on first join
# without locking, no rate limits (mod_limits off). Archives (the users' and the rooms') in
# SQLite through mod_storage_sql, as Prosody recommends for MAM; the rest in its default files.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?dir}
if ! command -v prosody >/dev/null || ! dpkg -s lua-dbi-sqlite3 >/dev/null 2>&1; then
  echo "installing prosody and lua-dbi-sqlite3" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends prosody lua-dbi-sqlite3 >&2
  else sudo apt-get install -y --no-install-recommends prosody lua-dbi-sqlite3 >&2; fi
fi
ulimit -n "$(ulimit -Hn)"
case "$cmd" in
start)
  port=${3:?port}; users=${4:?users}  # a fifth argument (rooms) is not needed: made on join
  mkdir -p "$dir/data/localhost/accounts"
  /usr/bin/python3 - "$dir/data/localhost/accounts" "$users" <<'PY'
import hashlib, hmac, sys
out, n = sys.argv[1], int(sys.argv[2])
salt, iterations = "perch-bench-salt", 4096
salted = hashlib.pbkdf2_hmac("sha256", b"bench", salt.encode(), iterations)
client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
stored = hashlib.sha256(client_key).hexdigest()
server = hmac.new(salted, b"Server Key", hashlib.sha256).hexdigest()
record = ('return {\n\t["iteration_count"] = %d;\n\t["salt"] = "%s";\n'
          '\t["server_key"] = "%s";\n\t["stored_key"] = "%s";\n};\n') % (iterations, salt, server, stored)
for i in range(1, n + 1):
    with open(f"{out}/bench{i}.dat", "w") as f:
        f.write(record)
PY
  cat > "$dir/prosody.cfg.lua" <<LUA
daemonize = false
run_as_root = true
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
log = { warn = "$dir/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
c2s_direct_tls_ports = {}
s2s_ports = {}
http_ports = {}
https_ports = {}
network_backend = "epoll"
network_settings = { tcp_backlog = 4096 }  -- default 128 resets connections under a login burst
c2s_require_encryption = false
authentication = "internal_hashed"
password_hash = "SHA-256"
modules_enabled = { "roster", "saslauth", "disco", "ping", "mam" }
storage = { archive = "sql", muc_log = "sql" }
sql = { driver = "SQLite3", database = "$dir/prosody.sqlite" }
modules_disabled = { "s2s", "limits", "tls", "register" }
VirtualHost "localhost"
Component "chat.localhost" "muc"
  modules_enabled = { "muc_mam" }
  muc_room_locking = false
  muc_room_default_persistent = true
  muc_log_by_default = true
  max_history_messages = 30
  muc_room_default_history_length = 30
  restrict_room_creation = false
LUA
  prosody --config "$dir/prosody.cfg.lua" -F > "$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"; cp "$dir/pid" "$dir/server.pid"
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && { echo "prosody $(dpkg-query -W -f='${Version}' prosody) on 127.0.0.1:$port, pid $(cat "$dir/pid")"; exit 0; }
    sleep 0.1
  done
  echo "prosody did not start; see $dir/stdout.log" >&2; cat "$dir/stdout.log" >&2; exit 1
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ;;
esac
