# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD ?= build
JOBS ?= 2
CONFIG ?= var/perch.toml

.PHONY: all deps test-deps web build run test unit interop format clean

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

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
