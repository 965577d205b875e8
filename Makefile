# twopc -- the two commands README gives: `make run` and `make test`.
# Everything else (CMake, CTest) is reachable from here too.

BUILD ?= build
PORT ?= 6379
DATA ?= ./data
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DTWOPC_WERROR=ON

.PHONY: all deps build run test unit integration soak sim bench fuzz clean big
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

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'soak|bench'

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

# libFuzzer on the RESP parser and on record decoding + journal replay (clang), 20 s per target.
fuzz:
	@TWOPC_FUZZ=1 bash scripts/install-deps.sh
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_C_COMPILER=clang -DTWOPC_FUZZ=ON >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	cd $(BUILD)-fuzz && ctest --output-on-failure -L fuzz

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz

# A 512 MB SET and a 1,000,000-SET MULTI at default settings, redis-server beside them:
# time and peak RSS per process (bench/big.py; minutes, several GB; outside `make test`).
BIG_ARGS ?=
big: build
	/usr/bin/python3 bench/big.py $(BIG_ARGS)
