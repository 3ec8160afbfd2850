#!/usr/bin/env bash
# Quick start: install what is missing, build (Release), and run the main job
# on the embedded default store ./snapshots: a periodic snapshot, a tracked
# action, then the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBARROT_BUILD_TESTS=OFF -DBARROT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j2 >/dev/null
barrot=build/tools/barrot
$barrot periodic
$barrot track quickstart '{"source": "README quick start"}' --status completed
$barrot summary
