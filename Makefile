# twopc -- the two commands README gives: `make run` and `make test`.
# Everything else (CMake, CTest) is reachable from here too.

BUILD ?= build
PORT ?= 6379
DATA ?= ./data
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DTWOPC_WERROR=ON

.PHONY: all deps build run test unit integration clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# A coordinator on 127.0.0.1:$(PORT) and three replicas, data under $(DATA); Ctrl-C stops.
run: build
	exec $(BUILD)/server/twopc-cluster --port $(PORT) --dir $(DATA)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'soak|bench'

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

clean:
	rm -rf $(BUILD)
