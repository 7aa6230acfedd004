#!/usr/bin/env bash
# Runs one perch-bench scenario against a fresh peer server on loopback, as run-perch.sh does
# for Perch, so that the same command line measures all three.
#   bench/run-peer.sh BUILD_DIR prosody  connect --users 10000 --rooms 500 --rooms-per-user 2
#   bench/run-peer.sh BUILD_DIR ejabberd fanout  --users 1000 --senders 10 --rate 20
# Provisions accounts bench1..USERS (password "bench") and, where the peer needs it, rooms
# benchroom1..ROOMS (Prosody makes them on first join).
set -euo pipefail
build=${1:?build dir}; shift
peer=${1:?prosody or ejabberd}; shift
scenario=${1:?scenario}; shift
source "$(dirname "$0")/load-size.sh"
here=$(cd "$(dirname "$0")" && pwd)
bench="$build/bench/perch-bench"
dir=$(mktemp -d /tmp/perch-peer.XXXXXX)
chmod 755 "$dir"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap '"$here/peers/$peer.sh" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
"$here/peers/$peer.sh" start "$dir" "$port" "$users" "$rooms"
echo "$peer, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
"$bench" "$scenario" --port "$port" --server-pid "$(cat "$dir/server.pid")" "$@"
