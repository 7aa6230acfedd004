#!/usr/bin/env bash
# One perch-bench scenario against Perch, Prosody and ejabberd in turn, each on a fresh server
# on loopback, then a table of the three with Perch's ratio to each peer.
#   bench/side-by-side.sh BUILD_DIR connect --users 10000 --rooms 500 --rooms-per-user 2 --idle 10
#   bench/side-by-side.sh BUILD_DIR fanout --users 500 --senders 10 --rate 60 --duration 20
# SERVERS="perch prosody" limits the set. Figures go to bench-results/DATE-SCENARIO-SERVER.json.
set -uo pipefail
build=${1:?build dir}; shift
scenario=${1:?scenario}; shift
here=$(cd "$(dirname "$0")" && pwd)
out="${RESULTS:-bench-results}"
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M)
files=()
for server in ${SERVERS:-perch prosody ejabberd}; do
  json="$out/$stamp-$scenario-$server.json"
  echo "== $server" >&2
  if [ "$server" = perch ]; then
    "$here/run-perch.sh" "$build" "$scenario" "$@" --json "$json" >&2
  else
    "$here/run-peer.sh" "$build" "$server" "$scenario" "$@" --json "$json" >&2
  fi
  echo "   exit $?" >&2
  files+=("$server=$json")
done
/usr/bin/python3 - "$scenario" "${files[@]}" <<'PY'
import json, sys
scenario, runs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
data = {}
for server, path in runs:
    try:
        data[server] = json.load(open(path))
    except (OSError, ValueError):
        data[server] = None
if scenario == "connect":
    rows = [("sessions joined", "joined", 1), ("logins/s", "login_rate_per_s", 1),
            ("all joined after (s)", "all_joined_s", -1),
            ("KB per idle session", "server_idle_bytes_per_session", -1),
            ("idle CPU %", "server_idle_cpu_percent", -1)]
elif scenario == "history":
    rows = []
    for name, label in [("join_history_30", "join + 30 of history"),
                        ("mam_newest_page_50", "MAM newest page of 50"),
                        ("mam_older_page_50", "MAM older page of 50"),
                        ("search_one_room", "search in one room"),
                        ("search_all_rooms", "search across all rooms")]:
        rows += [(f"{label}: p50 (ms)", (name, "p50_ms"), -1),
                 (f"{label}: p99 (ms)", (name, "p99_ms"), -1),
                 (f"{label}: items per answer", (name, "items_each"), 0)]
elif scenario == "lync-model":
    rows = [("all joined after (s)", "all_joined_s", -1),
            ("server KB per user after the joins", "server_bytes_per_session", -1),
            ("deliveries/s", "deliveries_per_s", 1), ("lost", "lost", -1),
            ("latency p50 (ms)", ("latency_ms", "p50"), -1), ("latency p99 (ms)", ("latency_ms", "p99"), -1),
            ("server CPU %", "server_cpu_percent", -1)]
else:
    rows = [("deliveries/s", "deliveries_per_s", 1), ("lost", "lost", -1),
            ("latency p50 (ms)", ("latency_ms", "p50"), -1), ("latency p99 (ms)", ("latency_ms", "p99"), -1),
            ("server CPU %", "server_cpu_percent", -1)]
def get(d, key):
    if d is None: return None
    if isinstance(key, tuple):
        d = d.get(key[0], {}); key = key[1]
    v = d.get(key)
    if key in ("server_idle_bytes_per_session", "server_bytes_per_session") and v is not None: v = v / 1024
    if key.endswith("_ms") and d.get("n", 1) == 0: v = None  # not supported: no answers
    return v
servers = [s for s, _ in runs]
print("| figure | " + " | ".join(servers) + " | " + " | ".join(f"Perch vs {s}" for s in servers if s != "perch") + " |")
print("|---" * (1 + len(servers) + len([s for s in servers if s != "perch"])) + "|")
for label, key, better in rows:
    vals = [get(data[s], key) for s in servers]
    cells = ["—" if v is None else f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" for v in vals]
    ratios = []
    p = get(data.get("perch"), key)
    for s in servers:
        if s == "perch": continue
        v = get(data[s], key)
        if p is None or v is None or p == 0 or v == 0 or better == 0:
            ratios.append("—")
        else:
            ratios.append(f"{(p / v if better > 0 else v / p):.1f}×")
    print(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
PY
