# Quiver — the two commands: `make run` (start the server) and `make test`
# (every test). Both install what is missing first (scripts/install-deps).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
ARGS       ?=
FUZZ_TARGETS ?= jr filter ops wal store
# Seconds per fuzz target: 5 targets, ~20 s in `make test`.
FUZZ_SECONDS ?= 4
FUZZ_MAX_LEN ?= 4096
# Inputs are at most a few KB: an allocation past this is a size taken from
# the input without a check.
FUZZ_FLAGS   ?= -malloc_limit_mb=64

.PHONY: all build run test unit api asan fuzz fuzz-seeds bench deps test-deps clean

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

# libFuzzer targets (fuzz/README.md): each runs FUZZ_SECONDS from its
# committed corpus fuzz/<corpus> plus a scratch corpus in the build dir, and
# a finding fails the run with its log. Run longer or fewer, e.g.
#   make fuzz FUZZ_SECONDS=1800 FUZZ_TARGETS=wal
fuzz: test-deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQV_FUZZ=ON -DQV_TESTS=OFF -DCMAKE_C_COMPILER=clang
	cmake --build $(FUZZ_BUILD) -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  corpus=fuzz/corpus_$$t; [ $$t = jr ] && corpus=fuzz/corpus; \
	  dict=; [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
	  mkdir -p $(FUZZ_BUILD)/corpus_$$t $(FUZZ_BUILD)/crash_$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) $(FUZZ_FLAGS) $$dict \
	      -artifact_prefix=$(FUZZ_BUILD)/crash_$$t/ $(FUZZ_BUILD)/corpus_$$t $$corpus \
	      > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 \
	    || { cat $(FUZZ_BUILD)/fuzz_$$t.log; echo "fuzz: $$t found a bug; input in $(FUZZ_BUILD)/crash_$$t/"; exit 1; }; \
	  grep -E '^Done [0-9]+ runs' $(FUZZ_BUILD)/fuzz_$$t.log; \
	done

# Rewrite the binary seed corpora through the real encoders (after a format change).
fuzz-seeds: test-deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQV_FUZZ=ON -DQV_TESTS=OFF -DCMAKE_C_COMPILER=clang
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_mkseeds
	$(FUZZ_BUILD)/fuzz_mkseeds fuzz

# The search benchmark's tools are only built when their packages are there:
# install them, then configure again so that CMake finds them.
bench:
	@scripts/install-deps bench
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
