# twopc -- the two commands README gives: `make run` and `make test`.
# Everything else (CMake, CTest) is reachable from here too.

BUILD ?= build
PORT ?= 6379
DATA ?= ./data
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DTWOPC_WERROR=ON

.PHONY: all deps build run test unit integration soak sim bench bench-types bench-peers limits big fuzz asan clean
MINUTES ?= 30

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# A coordinator on 127.0.0.1:$(PORT) and three replicas, data under $(DATA); Ctrl-C stops.
# ARGS go to the coordinator, e.g. make run ARGS="--requirepass secret --timeout 300".
ARGS ?=
run: build
	exec $(BUILD)/server/twopc-cluster --port $(PORT) --dir $(DATA) $(if $(strip $(ARGS)),-- $(ARGS))

# The whole suite, then `make asan` (skip it with ASAN=0: make test ASAN=0).
ASAN ?= 1
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'soak|bench'
ifneq ($(ASAN),0)
	@$(MAKE) --no-print-directory asan
endif

# AddressSanitizer + UBSan (clang, -fno-sanitize-recover=all) in $(BUILD)-asan, with the
# libFuzzer targets built there too. Any sanitizer report fails its test: unit tests and
# fuzzers abort; the daemons the pytest suites start write their reports to files that
# tests/lib/sanitizer_run.sh checks after the run (LeakSanitizer included, at a clean
# SIGTERM exit). A selection, so that it takes ~4 min on 2 idle cores (the sanitized
# daemons are 2-3x slower): every unit test and fuzz target (10 s each) but the long
# simulator runs (sim.seeds over 40 seeds instead of 300, three of its sim.catches) and the
# longer model checks (model.votes and four model.catches stay, ~30 s), and per
# suite the files that exercise the most code per second: ASAN_SUITES below. crash.nemesis
# runs 20 s of kills and pauses. Left out: clients.redis_cli, whose --pipe of 100k SETs
# makes rounds that miss the 500 ms prepare timeout at ASan's speed (a timeout, not a
# finding). `make asan ASAN_SUITES=.` runs every test of the build instead.
ASAN_SIM_SLOW := ^(sim\.(wipe|rollback|min_replicas|members|partition|disk_errors|stray_hello|catches\.trust-failed-fsync|catches\.(no-fence|vote-before-durable|trust-lost-data|commit-on-k-votes|trust-left-out))|model\.(votes_.*|classic|catches\.unfenced-abort))$$
ASAN_SUITES ?= ^(integration\.(basic|consistency|crash|restart|replica_down|peer_input|auth)|recovery\.(failpoints|logs|touched_vote)|crash\.nemesis|compat\.(lists|sort|zsets)|clients\.(transactions|connection|halfclose|server|redis_py|queue))$$
asan:
	@bash scripts/install-deps.sh
	cmake -S . -B $(BUILD)-asan -DCMAKE_C_COMPILER=clang -DTWOPC_SANITIZE=ON -DTWOPC_FUZZ=ON \
	  -DTWOPC_WERROR=ON -DTWOPC_FUZZ_SECONDS=10 -DTWOPC_SIM_SEEDS=1-40 >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz' -E '$(ASAN_SIM_SLOW)'
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -LE 'unit|fuzz|soak|bench' -R '$(ASAN_SUITES)'

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# The randomized crash test for MINUTES minutes (default 30), outside `make test`.
soak: build
	cmake -S . -B $(BUILD) -DTWOPC_SOAK_MINUTES=$(MINUTES) >/dev/null
	cd $(BUILD) && ctest --output-on-failure -L soak

# The deterministic simulator over many seeds (make test runs a fixed few), e.g.
# make sim SEEDS=1-20000; a failure prints the seed and how to replay it.
SEEDS ?= 1-5000
sim: build
	$(BUILD)/tests/sim/twopc-sim --seeds $(SEEDS)

# redis-benchmark against this cluster and redis-server, side by side (docs/benchmarks.md).
bench: build
	/usr/bin/python3 bench/bench.py
	/usr/bin/python3 bench/bench_types.py
	/usr/bin/python3 bench/bench_peers.py

# Only the peers' table (bench/bench_peers.py): twopc beside redis appendfsync always and
# Redis with two replicas and WAIT 2 0, SETs from one load generator; issue #15's targets.
bench-peers: build
	/usr/bin/python3 bench/bench_peers.py

# Only the collection types' table (bench/bench_types.py): small and 1,000,000-element values.
bench-types: build
	/usr/bin/python3 bench/bench_types.py

# RSS of the coordinator and a replica under hostile clients, beside redis-server (README,
# "Limits"); about two minutes, 10,000 connections.
limits: build
	/usr/bin/python3 bench/limits.py

# libFuzzer on every parser and evaluator (tests/fuzz/README.md), FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/install-deps.sh
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_C_COMPILER=clang -DTWOPC_FUZZ=ON \
	  -DTWOPC_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	cd $(BUILD)-fuzz && ctest --output-on-failure -L fuzz

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz $(BUILD)-asan

# A 512 MB SET and a 1,000,000-SET MULTI at default settings, redis-server beside them:
# time and peak RSS per process (bench/big.py; minutes, several GB; outside `make test`).
BIG_ARGS ?=
big: build
	/usr/bin/python3 bench/big.py $(BIG_ARGS)
