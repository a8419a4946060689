# Quiver — the two commands: `make run` (start the server) and `make test`
# (every test). Both install what is missing first (scripts/install-deps).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
ARGS       ?=
FUZZ_SECONDS ?= 20

.PHONY: all build run test unit api asan fuzz bench deps test-deps clean

all: build

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

$(BUILD)/Makefile: CMakeLists.txt tests/unit/CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/quiver serve $(ARGS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

api: build
	cd tests/api && QUIVER_BIN=$(abspath $(BUILD)/quiver) node --test --test-concurrency=2 *.test.mjs

test: test-deps
	$(MAKE) --no-print-directory unit fuzz api

asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DQV_SANITIZE=ON -DCMAKE_C_COMPILER=clang
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)
	cd tests/api && ASAN_OPTIONS=detect_leaks=1 QUIVER_BIN=$(abspath $(ASAN_BUILD)/quiver) node --test --test-concurrency=2 *.test.mjs

fuzz: test-deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQV_FUZZ=ON -DQV_TESTS=OFF -DCMAKE_C_COMPILER=clang
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_jr
	mkdir -p $(FUZZ_BUILD)/corpus
	@echo "fuzz: JSON reader for $(FUZZ_SECONDS)s"
	@$(FUZZ_BUILD)/fuzz_jr -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    $(FUZZ_BUILD)/corpus fuzz/corpus > $(FUZZ_BUILD)/fuzz.log 2>&1 \
	  || { cat $(FUZZ_BUILD)/fuzz.log; exit 1; }
	@grep -E '^Done [0-9]+ runs' $(FUZZ_BUILD)/fuzz.log

bench: build
	bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
