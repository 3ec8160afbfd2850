#!/usr/bin/env bash
# Installs what is missing and builds the programs (Release) in build/,
# without tests or benchmarks, and without running anything: for CI jobs
# that must not add snapshots of their own (the workflows in .github/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBARROT_BUILD_TESTS=OFF -DBARROT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j2 >/dev/null
