#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/: libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer, Debian's clang) and runs each on a copy of its
# committed seed corpus, printing executions, coverage and findings.
#
#   scripts/fuzz.sh [SECONDS]   seconds per target (default 300)
#   scripts/fuzz.sh --smoke     the CI step: 10 s per target
#
# A crash, leak, timeout or invariant failure stops it with exit 1 and the
# input that caused it in build-fuzz/runs/<target>-crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
[ "$secs" = --smoke ] && secs=10
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBARROT_FUZZ=ON \
  -DBARROT_BUILD_TESTS=OFF -DBARROT_BUILD_TOOLS=OFF -DBARROT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j2 >/dev/null
runs=build-fuzz/runs
mkdir -p "$runs"
for t in fuzz_details fuzz_import fuzz_time fuzz_yaml; do
  corpus=$runs/$t-corpus
  rm -rf "$corpus"
  cp -r "fuzz/corpus/$t" "$corpus"
  seeds=$(ls "$corpus" | wc -l)
  if ! ASAN_OPTIONS=detect_leaks=1 "build-fuzz/fuzz/$t" -max_total_time="$secs" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$runs/$t-" \
    "$corpus" > "$runs/$t.log" 2>&1; then
    tail -n 60 "$runs/$t.log" >&2
    echo "$t: FOUND A PROBLEM; the input is in $runs/$t-*" >&2
    exit 1
  fi
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$runs/$t.log")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$runs/$t.log" | tail -n 1)
  echo "$t: $execs runs in ${secs} s, $cov, corpus $seeds -> $(ls "$corpus" | wc -l) inputs, no crash"
done
