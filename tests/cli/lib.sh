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

# A compact mirror line (log or archive) without its chain record: the
# document as stored (docs/integrity.md); unchanged when it carries none.
unchain() {
  sed -E 's/,"chain":\{"seq":[0-9]+,"prev":"[0-9a-f]{64}","hash":"[0-9a-f]{64}"\}(\}+)$/\1/'
}

# kill_at_random CMD...: starts CMD and kills it with SIGKILL at a random
# point of the first $span_ms milliseconds (the caller measures how long an
# uninterrupted CMD takes and sets span_ms).
kill_at_random() {
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$(awk -v ms=$(( RANDOM % span_ms )) 'BEGIN { printf "%.3f", ms / 1000 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

count() { "$BARROT" summary --json | jq -r ".$1"; }

# The names in the snapshots directory, one per line (no state folder).
listing() { ls -A "$BARROT_SNAPSHOTS_DIR" 2>/dev/null | grep -v '^\.barrot$' || true; }

# barrot-archive, when the test was given it.
ARCHIVE=${4:-}

# gen_actions YEAR MONTH N: N legacy-format action lines of that month on
# stdout, spread over its first 28 days (for `barrot import`).
gen_actions() {
  awk -v y="$1" -v m="$2" -v n="$3" 'BEGIN {
    split("deploy build test sync backup", types, " ");
    split("completed completed completed failed executing", sts, " ");
    for (i = 0; i < n; i++) {
      s = int(i * 28 * 86400 / n);
      d = 1 + int(s / 86400); h = int(s % 86400 / 3600); mi = int(s % 3600 / 60); se = s % 60;
      us = (i * 7919) % 1000000;
      id = sprintf("%04d%02d%02d_%02d%02d%02d_%06d", y, m, d, h, mi, se, us);
      ts = sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d, h, mi, se, us);
      printf "{\"snapshot_id\":\"action_%s\",\"snapshot_type\":\"action\",\"timestamp\":\"%s\",", id, ts;
      printf "\"action\":{\"type\":\"%s\",\"status\":\"%s\",\"details\":{\"n\":%d,\"env\":\"prod\"}},", types[1 + i % 5], sts[1 + i % 5], i;
      printf "\"metadata\":{\"generated_by\":\"legacy\"}}\n";
    }
  }'
}

# The snapshot ids a store and its archives hold: $T/in_store, $T/in_archives.
ids_everywhere() {
  "$BARROT" all --json | jq -r .snapshot_id | sort > "$T/in_store"
  if ls "$BARROT_SNAPSHOTS_DIR"/archive/*.jsonl.zst >/dev/null 2>&1; then
    zstdcat "$BARROT_SNAPSHOTS_DIR"/archive/*.jsonl.zst | jq -r .snapshot_id | sort > "$T/in_archives"
  else
    : > "$T/in_archives"
  fi
}
