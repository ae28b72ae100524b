# Entry points: `make` (build), `make test`, `make demo`, `make bench`, `make fmt`, `make clean`.
# The real build is CMake (see CMakePresets.json); this file only strings the steps together.
SHELL := /bin/bash
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
CTEST_JOBS ?= 2
PRESETS := release sanitize
FMT_DIRS := src tests fuzz bench

.PHONY: build test demo bench fmt tidy clean bootstrap

bootstrap:
	@scripts/bootstrap

# Release build; leaves build/bin/verge.
build:
	cmake --preset release
	cmake --build --preset release

# Builds and runs every test in both presets (GCC release, clang ASan+UBSan). A failure in the
# first preset does not skip the second; the exit status is non-zero if anything failed in either.
test: bootstrap
	@failed=""; \
	for preset in $(PRESETS); do \
	  echo "== make test: preset $$preset"; \
	  if cmake --preset $$preset && cmake --build --preset $$preset; then \
	    ctest --preset $$preset --output-on-failure --no-tests=error -j$(CTEST_JOBS) || failed="$$failed $$preset"; \
	  else \
	    echo "== make test: build of preset $$preset failed"; failed="$$failed $$preset"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "== make test: FAILED in:$$failed"; exit 1; fi

demo: bootstrap build
	scripts/demo

# Broker vs Mosquitto, broker persistence vs Mosquitto, the storage engines, the rule engine, then
# device acquisition against a libmodbus loop (about 8 minutes).
bench: bootstrap build
	bench/run
	bench/run-persistence
	build/bin/verge_store_bench
	build/bin/verge_tsdb_bench
	build/bin/verge_rules_bench
	bench/run-rules
	bench/run-devices
	build/bin/verge_sync_bench
	build/bin/verge_ingest_bench
	COUNT=200 RATE=1000 BACKLOG=50000 bench/run-sync
	COUNT=10000 RATE=1 bench/run-sync

fmt:
	find $(FMT_DIRS) -path '*/node_modules' -prune -o \( -name '*.cc' -o -name '*.h' \) -print \
	  | xargs -r clang-format -i

tidy: build
	git ls-files 'src/*.cc' | xargs -r clang-tidy -p build --quiet

clean:
	rm -rf build build-sanitize
