# strata — top-level targets. The build itself is CMake; this file is the
# front door. `make` builds build/strata, build/libstrata.a, build/libstrata.so.
#
#   make            release-ish build (RelWithDebInfo) into build/
#   make test       build + ctest, then the same suite under ASan+UBSan (build-asan/)
#   make test-tsan  the concurrency tests under ThreadSanitizer (build-tsan/)
#   make demo       strata's damage story on an embedded sample log
#   make fuzz       run every fuzz target for FUZZ_SECONDS each (clang, build-fuzz/)
#   make bench-log  the record-log benchmark (Release, build-release/)
#   make bench-bitcask  the Bitcask benchmark, 1M and 10M keys (build-release/)
#   make bench-sstable  the table benchmark (Release, build-release/)
#   make bench-wal  the WAL benchmark; writes the "## WAL" section of bench/RESULTS.md
#   make bench-memtable  the LSM memtable alone: 1M random inserts and gets
#   make bench      strata beside LevelDB, RocksDB, LMDB and SQLite (BENCH_N
#                   entries, default 1000000; 3 runs each): writes the
#                   "## Comparison" section of bench/RESULTS.md and
#                   bench/results.png
#   make bench-large  strata-lsm and LevelDB at 100k, 1M and 10M entries
#                   ("## Scaling" section of bench/RESULTS.md)
#   make format     clang-format every source file
#   make torture    the fault campaigns of issue 8 (TORTURE_SECONDS bounds the
#                   damage campaign, TORTURE_TRIALS faults per file kind,
#                   TORTURE_KILLS kill -9 per engine); writes docs/RELIABILITY.md
#   make install    PREFIX=/usr/local (DESTDIR honoured): library, header, tool,
#                   strata.pc, man page; make uninstall removes those files

MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
TORTURE_SECONDS ?= 600
TORTURE_TRIALS ?= 2000
TORTURE_KILLS ?= 500
TORTURE_SEED ?= 1
TORTURE_POWER_STEP ?= 1
CMAKE ?= cmake

.PHONY: all deps test test-plain test-asan demo fuzz bench-log bench-bitcask bench-sstable bench-wal bench-memtable bench bench-large test-tsan format clean torture install uninstall
BENCH_N ?= 1000000
BENCH_REPS ?= 3
PREFIX ?= /usr/local


all: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j $(JOBS)

deps:
	@bash scripts/deps.sh build

test: test-plain test-asan

test-plain:
	@bash scripts/deps.sh test
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j $(JOBS)
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan:
	@bash scripts/deps.sh test
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTRATA_SANITIZE=ON >/dev/null
	@$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer build of the concurrency-heavy tests (not part of `make test`).
test-tsan:
	@bash scripts/deps.sh test
	@$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_TSAN=ON >/dev/null
	@$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R 'wal_wal|bitcask|sstable_table|sstable_cache|env_fault|lsm_' -j $(JOBS)

demo: all
	@bash scripts/demo.sh build/strata

fuzz:
	@bash scripts/deps.sh build fuzz
	@CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_FUZZ=ON -DSTRATA_SANITIZE=ON -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-fuzz -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench-log:
	@bash scripts/deps.sh build
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_log
	./build-release/bench_log

bench-bitcask:
	@bash scripts/deps.sh build
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_bitcask
	cd build-release && ./bench_bitcask
bench-sstable:
	@bash scripts/deps.sh build
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_sstable
	./build-release/bench_sstable
bench-wal:
	@bash scripts/deps.sh build
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_wal
	./build-release/bench_wal --results bench/RESULTS.md
bench-memtable:
	@bash scripts/deps.sh build
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_memtable
	./build-release/bench_memtable

bench:
	@bash scripts/deps.sh build bench
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_compare
	./build-release/bench_compare --num $(BENCH_N) --reps $(BENCH_REPS) --dir build-release/bench-compare-db --results bench/RESULTS.md --plot bench/results.png
bench-large:
	@bash scripts/deps.sh build bench
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATA_TESTS=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target bench_compare
	./build-release/bench_compare --large 100000,1000000,10000000 --reps 1 --dir build-release/bench-compare-db --results bench/RESULTS.md

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-release

torture:
	@bash scripts/deps.sh test torture
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j $(JOBS) --target torture
	./build/torture --seed $(TORTURE_SEED) --trials $(TORTURE_TRIALS) \
	  --seconds $(TORTURE_SECONDS) --kills $(TORTURE_KILLS) --power-step $(TORTURE_POWER_STEP) \
	  --report docs/RELIABILITY.md --chart docs/reliability.png \
	  --command "make torture TORTURE_SECONDS=$(TORTURE_SECONDS) TORTURE_TRIALS=$(TORTURE_TRIALS) TORTURE_KILLS=$(TORTURE_KILLS) TORTURE_SEED=$(TORTURE_SEED) TORTURE_POWER_STEP=$(TORTURE_POWER_STEP)"
# install keeps the list of files it wrote in build/installed_files.txt
# (DESTDIR included); uninstall removes exactly those files.
install: all
	@$(CMAKE) -S . -B build -DCMAKE_INSTALL_PREFIX="$(PREFIX)" >/dev/null
	DESTDIR="$(DESTDIR)" $(CMAKE) --install build
	@awk -v d="$(DESTDIR)" 'NF { print d $$0 }' build/install_manifest.txt >> build/installed_files.txt

uninstall:
	@bash scripts/uninstall.sh build/installed_files.txt
	@rm -f build/installed_files.txt
