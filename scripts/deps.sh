#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever of Barrot's build and test
# dependencies is missing (with --test, also what only the tests need).
# Idempotent and quiet when nothing is missing.
set -euo pipefail
packages=(
  g++ cmake make                 # toolchain
  libsqlite3-dev sqlite3         # SQLite (library; shell for tests and benchmarks)
  libsqlitecpp-dev               # SQLiteCpp
  nlohmann-json3-dev             # JSON
  libcxxopts-dev                 # CLI parsing
  libyaml-cpp-dev                # build manifest, workflows, configuration (YAML)
  libzstd-dev zstd               # archives (library; CLI for tests and benchmarks)
  catch2                         # unit tests (v2)
  jq                             # CLI tests read JSON output with it
  clang-format                   # the formatting check
)
# The test suite also needs a browser: the dashboard test opens the page in
# headless Chromium.
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium)           # the dashboard test's browser
  packages+=(pkg-config dpkg-dev) # the install test: a pkg-config consumer, the .deb
  packages+=(clang libclang-rt-14-dev) # the fuzz smoke step: clang and its libFuzzer
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
