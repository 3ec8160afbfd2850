#!/usr/bin/env bash
# Quick start: install what is missing, build (Release), and run the main job
# on the embedded default store ./snapshots: a periodic snapshot, a tracked
# action, then the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
barrot=build/tools/barrot
$barrot periodic
$barrot track quickstart '{"source": "README quick start"}' --status completed
$barrot summary
