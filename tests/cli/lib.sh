# Shared by the CLI tests: sourced with $1 = barrot, $2 = test writer, $3 = data dir.
set -euo pipefail
BARROT=$1
WRITER=$2
DATA=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/barrot-cli-XXXXXX")
cleanup() {
  if [ "${BARROT_KEEP_TEST_DIRS:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
cd "$T"
export BARROT_SNAPSHOTS_DIR="$T/snapshots"
unset BARROT_DB BARROT_SYNC

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect CODE CMD...: runs CMD, checks its exit code; stdout in $T/out, stderr in $T/err.
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$T/out" 2>"$T/err" || got=$?
  if [ "$got" != "$want" ]; then
    echo "--- stdout" >&2; cat "$T/out" >&2; echo "--- stderr" >&2; cat "$T/err" >&2
    fail "'$*' exited $got, expected $want"
  fi
}

# contains FILE TEXT: FILE holds TEXT.
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }

count() { "$BARROT" summary --json | jq -r ".$1"; }

# The names in the snapshots directory, one per line (no state folder).
listing() { ls -A "$BARROT_SNAPSHOTS_DIR" 2>/dev/null | grep -v '^\.barrot$' || true; }
