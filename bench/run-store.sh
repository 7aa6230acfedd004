#!/usr/bin/env bash
# The content database alone on one back end, in a fresh database (perch-store-bench).
#   bench/run-store.sh BUILD_DIR sqlite   --rooms 10000 --messages 1000000 [--json FILE]
#   bench/run-store.sh BUILD_DIR postgres --rooms 10000 --messages 1000000 [--json FILE]
# SQLite: a file in a temporary directory (WAL, synchronous=FULL). PostgreSQL: a throw-away
# PostgreSQL cluster on loopback with durable commits (fsync on, synchronous_commit on), started
# and stopped here. Both are deleted afterwards.
set -euo pipefail
build=${1:?build dir}; shift
backend=${1:?sqlite or postgres}; shift
root=$(cd "$(dirname "$0")/.." && pwd)
bench="$build/bench/perch-store-bench"
dir=$(mktemp -d /tmp/perch-store-bench.XXXXXX)
cleanup() {
  [ "$backend" = postgres ] && "$root/scripts/pg-cluster.sh" stop "$dir/pg" >/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
case "$backend" in
sqlite)
  "$bench" --backend sqlite --path "$dir/bench.db" "$@" ;;
postgres)
  "$root/scripts/pg-cluster.sh" start "$dir/pg" --durable >&2
  conninfo=$(cat "$dir/pg/conninfo")
  psql "$conninfo dbname=postgres" -qc "CREATE DATABASE bench"
  "$bench" --backend postgres --url "$conninfo dbname=bench" "$@" ;;
*)
  echo "backend must be sqlite or postgres" >&2; exit 2 ;;
esac
