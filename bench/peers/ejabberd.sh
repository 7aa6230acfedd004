#!/usr/bin/env bash
# ejabberd (Debian's 23.01) on loopback for the side-by-side benchmarks.
#   bench/peers/ejabberd.sh start DIR PORT USERS [ROOMS]
#       accounts bench1..USERS (password "bench"), rooms benchroom1..ROOMS
#   bench/peers/ejabberd.sh stop DIR
# Same ground as Perch: plain TCP c2s, SCRAM-SHA-256 over stored salted keys
# (auth_password_format: scram), MUC on chat.localhost with MAM on for every room, rooms made
# on first join, no shapers or message intervals. Storage is ejabberd's default (Mnesia). The
# node runs as the `ejabberd` user under epmd with its own config, spool and log directories.
# Accounts and rooms are made through mod_http_api (loopback only) before the load: clients
# racing to create the same room on first join could otherwise wait for ever.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?dir}
node=perchbench$$@localhost
if ! command -v ejabberdctl >/dev/null; then
  echo "installing ejabberd" >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  # Debian starts the service on install; the benchmark runs its own node instead.
  printf '#!/bin/sh\nexit 101\n' | $sudo_ tee /usr/sbin/policy-rc.d >/dev/null
  $sudo_ chmod +x /usr/sbin/policy-rc.d
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ejabberd >&2 || true
  $sudo_ rm -f /usr/sbin/policy-rc.d
fi
# As root, run ejabberdctl as `ejabberd` ourselves: its own switch of user drops the options.
# setpriv, not runuser: no PAM session, so the raised open-file limit carries over.
as_ejabberd() {
  if [ "$(id -u)" = 0 ]; then
    HOME=/var/lib/ejabberd setpriv --reuid ejabberd --regid ejabberd --init-groups -- "$@"
  else "$@"; fi
}
ulimit -n "$(ulimit -Hn)"
ctl() {
  as_ejabberd ejabberdctl --ctl-config "$dir/ejabberdctl.cfg" --config "$dir/ejabberd.yml" --spool "$dir/spool" --logs "$dir/logs" \
    --node "$(cat "$dir/node")" "$@"
}
case "$cmd" in
start)
  port=${3:?port}; users=${4:?users}; rooms=${5:-0}
  api=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "$node" > "$dir/node"
  mkdir -p "$dir/spool" "$dir/logs"
  # Debian's /etc/ejabberd/ejabberdctl.cfg names /etc/ejabberd/ejabberd.yml: use our own.
  printf 'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\nERL_MAX_PORTS=65536\n' > "$dir/ejabberdctl.cfg"
  cat > "$dir/ejabberd.yml" <<YML
hosts: [localhost]
loglevel: warning
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha256
default_db: mnesia
listen:
  - port: $port
    ip: "127.0.0.1"
    module: ejabberd_c2s
    backlog: 4096
    starttls: false
    max_stanza_size: 262144
    access: all
  - port: $api
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
api_permissions:
  "bench on loopback":
    from: [mod_http_api]
    who:
      ip: 127.0.0.1/8
    what: "*"
access_rules:
  c2s:
    allow: all
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_mam: {}
  mod_http_api: {}
  mod_muc_admin: {}
  mod_muc:
    host: chat.localhost
    access: all
    access_create: all
    access_persistent: all
    max_users: 100000
    max_user_conferences: 1000
    min_message_interval: 0
    min_presence_interval: 0
    history_size: 30
    default_room_options:
      persistent: true
      mam: true
      max_users: 20000
YML
  if [ "$(id -u)" = 0 ]; then chown -R ejabberd: "$dir"; chmod 755 "$dir"; fi
  ctl foreground > "$dir/stdout.log" 2>&1 &
  for _ in $(seq 300); do
    (exec 3<>/dev/tcp/127.0.0.1/$api) 2>/dev/null && break
    sleep 0.2
  done
  (exec 3<>/dev/tcp/127.0.0.1/$api) 2>/dev/null || { echo "ejabberd did not start" >&2; cat "$dir/stdout.log" "$dir"/logs/*.log >&2 2>/dev/null; exit 1; }
  /usr/bin/python3 - "$api" "$users" "$rooms" <<'PY'
import http.client, json, sys, concurrent.futures
api, n, rooms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def call(chunk):
    c = http.client.HTTPConnection("127.0.0.1", api, timeout=60)
    for command, args in chunk:
        c.request("POST", "/api/" + command, json.dumps(args), {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            raise SystemExit(f"{command} {args}: HTTP {r.status}")
    c.close()
work = [("register", {"user": f"bench{i}", "host": "localhost", "password": "bench"}) for i in range(1, n + 1)]
work += [("create_room", {"name": f"benchroom{i}", "service": "chat.localhost", "host": "localhost"})
         for i in range(1, rooms + 1)]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(call, [work[k::8] for k in range(8)]))
PY
  pgrep -f "beam.*$(cat "$dir/node")" | head -1 > "$dir/server.pid"
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && { echo "ejabberd $(dpkg-query -W -f='${Version}' ejabberd) on 127.0.0.1:$port, pid $(cat "$dir/server.pid"), $users accounts"; exit 0; }
    sleep 0.1
  done
  echo "ejabberd c2s not listening" >&2; exit 1
  ;;
stop)
  [ -f "$dir/node" ] && ctl stop >/dev/null 2>&1 || true
  if [ -f "$dir/server.pid" ]; then
    pid=$(cat "$dir/server.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ;;
esac
