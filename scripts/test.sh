#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors build with every test, the same
# tests under AddressSanitizer + UndefinedBehaviorSanitizer, the unit tests
# under ThreadSanitizer, the formatting check, smoke runs of the benchmark
# programs and of the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test

echo "== build (CI: -O2 -g, asserts on, -Werror)"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=CI -DBARROT_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build build-ci -j2 >/dev/null
echo "== one SQLite per program"
for p in build-ci/tools/barrot build-ci/tools/barrot-archive build-ci/tests/barrot_tests \
  build-ci/bench/barrot_bench build-ci/bench/barrot_archive_bench \
  build-ci/bench/barrot_search_bench build-ci/bench/barrot_process_floor; do
  if readelf -d "$p" | grep -q 'libsqlite3'; then
    echo "$p links libsqlite3 dynamically beside the static copy" >&2; exit 1
  fi
done
echo "== format check"
cmake --build build-ci --target check_format
echo "== tests"
(cd build-ci && ctest -j2 --output-on-failure --timeout 600)
echo "== benchmark smoke runs"
build-ci/bench/barrot_bench --smoke --cleanup
build-ci/bench/barrot_archive_bench --smoke --cleanup
build-ci/bench/barrot_search_bench --smoke --cleanup

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBARROT_SANITIZE=ON \
  -DBARROT_WARNINGS_AS_ERRORS=ON -DBARROT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j2 >/dev/null
echo "== tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j2 --output-on-failure --timeout 600)

echo "== build (ThreadSanitizer: the unit tests)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DBARROT_TSAN=ON \
  -DBARROT_WARNINGS_AS_ERRORS=ON -DBARROT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-tsan -j2 --target barrot_tests >/dev/null
echo "== unit tests under ThreadSanitizer"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/barrot_tests

echo "== fuzz smoke (libFuzzer + ASan + UBSan, clang; 10 s a target)"
scripts/fuzz.sh --smoke
