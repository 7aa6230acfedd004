#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) and runs each for SECONDS (default 60), starting from the
# committed corpus (fuzz/corpus/TARGET, read only) and what earlier runs found
# (build-fuzz/corpus/TARGET). A crash, a leak, a timeout or a broken property is a finding: its
# input is kept in build-fuzz/findings/TARGET/ and the run fails.
#   scripts/fuzz.sh [SECONDS] [TARGET ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xml_stream scram jid search_query http_head websocket)
./scripts/install-deps.sh --fuzz
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j "${JOBS:-2}"
passed=0
failed=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/findings/$t"
  log="build-fuzz/fuzz_$t.log"
  if "build-fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build-fuzz/findings/$t/" -print_final_stats=1 \
      "build-fuzz/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1; then
    runs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(grep -a -E '^#[0-9]+' "$log" | tail -1 | grep -o -E 'cov: [0-9]+' || true)
    echo "fuzz_$t: ${runs:-?} inputs in $seconds s, ${cov:-cov: ?}, no finding"
    passed=$((passed + 1))
  else
    echo "fuzz_$t: FINDING (input in build-fuzz/findings/$t/, log $log):"
    grep -a -E 'ERROR|SUMMARY|abort|failed|not stable|does not|round trip|^MATCH' "$log" | head -8 | sed 's/^/  /'
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
