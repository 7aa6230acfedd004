# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD ?= build
JOBS ?= 2
CONFIG ?= var/perch.toml

.PHONY: all deps test-deps web build run test unit interop format clean test-asan test-tsan lint fuzz

all: build

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test

web:
	@./scripts/install-web.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build web
	@./scripts/run-demo.sh $(BUILD)/src/perch $(CONFIG)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit -LE postgres

interop: build test-deps web
	@./tests/interop/run.sh $(BUILD)/src/perch

test: test-deps build web
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Sanitizer builds, each in its own directory, with assertions on (the shard-ownership checks
# of PERCH_ASSERT_ON among them) and without the benchmark tools. A report fails the run: the
# unit tests abort, and the interop harness fails a suite whose server logged one.
# Line tables only (-g1) and, for ASan+UBSan, no optimisation: their builds take a third of the
# time with full debug information and -O1, and the reports still name files and lines.
SANITIZED = -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPERCH_BENCH=OFF
export ASAN_OPTIONS = detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS = halt_on_error=0:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp

# AddressSanitizer + UndefinedBehaviorSanitizer: the unit suites on both back ends, and the
# interop suites on SQLite (the same server code above the store: the PostgreSQL store runs
# under the sanitizers in its unit suites, and every interop suite on PostgreSQL in `make test`).
# Left to `make test`: the package (CPack and dpkg, no server code of its own) and the suites
# that test what real clients make of the server (Converse.js in Chromium, profanity), whose
# server paths (WebSocket, HTTP, MUC) the web, core and rooms suites run here.
test-asan: test-deps web
	@cmake -S . -B build-asan $(SANITIZED) -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
	  -DPERCH_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) \
	  -E '^(interop_.*_postgres|package|interop_browser|interop_profanity)$$'

# ThreadSanitizer: the unit tests, the core interop suite (strands, store threads and the
# group-commit writer share data there) and the pool suite (peer links, the membership thread).
test-tsan: test-deps web
	@cmake -S . -B build-tsan $(SANITIZED) -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
	  -DPERCH_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && ctest --output-on-failure -j $(JOBS) -R '^(.*_test|interop_core|postgres_.*|.*_test_postgres|interop_core_postgres|interop_im|interop_pool)$$'

# clang-tidy over src/ with the checks of .clang-tidy (bugprone, concurrency, performance).
# It reads each source file as compiled on its own: a configuration of its own without unity
# files (whose compile commands name no source of src/), nothing built.
lint: deps
	@./scripts/install-deps.sh --lint
	@cmake -S . -B build-lint -G Ninja -DPERCH_UNITY=OFF -DPERCH_BENCH=OFF >/dev/null
	@grep -q '$(CURDIR)/src/.*\.cpp"' build-lint/compile_commands.json \
	  || { echo "lint: no source of src/ in build-lint/compile_commands.json"; exit 1; }
	@run-clang-tidy -p build-lint -quiet -j $(JOBS) '$(CURDIR)/src/.*\.cpp$$' > build-lint/lint.log 2>&1 \
	  && echo "lint: clean" || { sed 's/\x1b\[[0-9;]*m//g' build-lint/lint.log | grep -E "(warning|error):" | sort -u; \
	  echo "lint: findings above (full output in build-lint/lint.log)"; exit 1; }

# libFuzzer targets (fuzz/: the XML stream parser, SCRAM, JID preparation, the search query
# language, the HTTP request head and body, WebSocket framing), each run FUZZ_SECONDS; CI runs
# them briefly, a long run is `make fuzz FUZZ_SECONDS=3600`.
FUZZ_SECONDS ?= 60
fuzz:
	@./scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
