# A file size limit (ulimit -f) as a full disk that needs no root: every
# write past it fails with EFBIG. Each barrot command under it either
# succeeds, fails with a clear error having stored nothing (exit 1), or
# stores its snapshot and says the mirror is incomplete (exit 3); it is never
# killed by SIGXFSZ, and nothing is lost. With room again, repair and verify
# are clean, and barrot-archive finishes a run that failed or was cut short
# (exit 3). import and
# barrot-archive restore store all or nothing, and exit 3 when their mirror
# is cut.
source "$(dirname "$0")/lib.sh"
[ -n "$ARCHIVE" ] || fail "no barrot-archive given"
pad=$(head -c 1500 /dev/zero | tr '\0' p)

# limited KIB CMD...: runs CMD under `ulimit -f KIB`, its exit code in $rc and
# its stderr in $T/err. The messages go through a pipe, which the limit does
# not cut (it would a regular file); stdout is not needed.
limited() {
  local kb=$1
  shift
  set +e
  (ulimit -f "$kb"; exec "$@" 2>&1 >/dev/null) | cat >"$T/err"
  rc=${PIPESTATUS[0]}
  set -e
}

# What a full disk or a file size limit is called in an error.
full_re='disk I/O error|disk is full|file too large|file size limit'

# outcome SEEN WHAT KIB BEFORE ADDS MESSAGE3 [WHY]: checks $rc of WHAT run
# under KIB against the snapshots stored meanwhile: exit 0 and 3 add ADDS (3
# with MESSAGE3 on stderr), exit 1 adds none (with WHY set: and says why).
# Records $rc in the array named SEEN.
outcome() {
  local -n got=$1
  local what=$2 kb=$3 before=$4 adds=$5 message3=$6 why=${7:-}
  local after
  after=$(count total)
  case $rc in
    0) [ "$after" = $((before + adds)) ] || fail "$what under $kb KiB: exit 0 but $before -> $after" ;;
    1) [ "$after" = "$before" ] || fail "$what under $kb KiB: exit 1 but $before -> $after"
       if [ "$why" ]; then
         grep -qiE "$full_re" "$T/err" \
           || { cat "$T/err" >&2; fail "$what under $kb KiB: the error does not say why"; }
       fi ;;
    3) [ "$after" = $((before + adds)) ] || fail "$what under $kb KiB: exit 3 but $before -> $after"
       contains "$T/err" "$message3" ;;
    *) cat "$T/err" >&2; fail "$what under $kb KiB exited $rc" ;;
  esac
  got[$rc]=1
}

# met_all ARRAY WHAT: the limits met exits 0, 1 and 3 (ARRAY: the outcomes).
met_all() {
  local -n got=$1
  [ "${got[1]:-}" ] && [ "${got[3]:-}" ] && [ "${got[0]:-}" ] \
    || fail "the $2 limits did not meet every outcome (seen: ${!got[*]})"
}

expect 0 "$BARROT" periodic -q
for i in $(seq 60); do
  "$BARROT" action deploy "{\"n\":$i,\"pad\":\"$pad\"}" --status completed -q >/dev/null
done
# A log far longer than the WAL can grow (a CLI write truncates it past 48
# frames, ~200 KB), so that limits between the two let a commit through and
# cut the log's append. This month's actions: never due for archiving below.
mkdir now
gen_actions "$(date -u +%Y)" "$(date -u +%-m)" 2000 > now/action_log.jsonl
expect 0 "$BARROT" import now

# One write under each limit (ulimit -f counts KiB here), from none to more
# than the largest file. Below 32 KiB the store cannot even open (SQLite
# writes its 32 KiB shared-memory file); then the WAL, the new file or the
# log meets it first.
declare -A seen=()
for kb in 0 16 32 48 64 96 128 160 192 256 384 512 640 768 100000; do
  for what in action periodic; do
    before=$(count total)
    if [ "$what" = action ]; then
      limited "$kb" "$BARROT" action deploy "{\"kb\":$kb,\"pad\":\"$pad\"}"
    else
      limited "$kb" "$BARROT" periodic
    fi
    outcome seen "$what" "$kb" "$before" 1 "is recorded, but its mirror is incomplete" why
    # Nothing half-written is left where a viewer reads.
    [ -z "$(find snapshots -maxdepth 1 -name '*.tmp')" ] || fail "a temporary file was left"
  done
done
met_all seen write
expect 0 "$BARROT" repair
expect 0 "$BARROT" verify
expect 0 "$BARROT" verify --chain

# barrot-archive run: under each limit it removes nothing (exit 1), or moves
# the month and says what it could not finish (exit 3: the log rewritten
# without the month's lines, or the space given back), or all of it; the next
# run with room finishes. (Under 16 KiB it fails as it opens the store;
# tests/unit/archive_test.cpp fails the month's archive file itself.)
mkdir legacy
gen_actions 2025 1 400 > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
declare -A arc=()
for kb in 16 64 256 512 768 100000; do
  before=$(count total)
  limited "$kb" "$ARCHIVE" run --month 2025-01
  outcome arc "archive run" "$kb" "$before" -400 "the next run finishes it" why
  # (After exit 3, verify names the unfinished cleanup until the next run.)
  [ "$rc" = 3 ] || expect 0 "$BARROT" verify
  expect 0 "$ARCHIVE" run --month 2025-01
  [ "$(count total)" = $((before - 400)) ] || fail "the run after $kb KiB did not archive the month"
  expect 0 "$BARROT" verify --chain
  expect 0 "$ARCHIVE" verify
  [ "$kb" = 100000 ] || expect 0 "$ARCHIVE" restore 2025-01
done
met_all arc "archive run"

# import: all of a directory or none of it, and exit 3 when its mirror is cut
# (a log far longer than the WAL first, so that some limits fall between).
mkdir big
gen_actions 2024 1 2000 > big/action_log.jsonl
expect 0 "$BARROT" import big
declare -A imp=()
month=2
for kb in 0 16 64 256 384 512 640 100000; do
  rm -rf in && mkdir in
  gen_actions 2024 "$month" 50 > in/action_log.jsonl
  month=$((month + 1))
  before=$(count total)
  limited "$kb" "$BARROT" import in
  outcome imp import "$kb" "$before" 50 "imported 50 snapshots, but mirroring them failed"
  expect 0 "$BARROT" repair
  expect 0 "$BARROT" import in # idempotent: what failed is imported now, nothing twice
  [ "$(count total)" = $((before + 50)) ] || fail "import under $kb KiB: not all there after"
done
met_all imp import
expect 0 "$BARROT" verify

# barrot-archive restore, the same way (the month archived above, put back
# and archived again each time).
declare -A rst=()
for kb in 0 64 512 768 100000; do
  before=$(count total)
  limited "$kb" "$ARCHIVE" restore 2025-01
  outcome rst restore "$kb" "$before" 400 "restored 400 snapshots, but mirroring them failed"
  expect 0 "$BARROT" repair
  expect 0 "$ARCHIVE" restore 2025-01 # what failed goes back now, nothing twice
  [ "$(count total)" = $((before + 400)) ] || fail "restore under $kb KiB: not all back after"
  expect 0 "$BARROT" verify --chain
  expect 0 "$ARCHIVE" run --month 2025-01
  [ "$(count total)" = "$before" ] || fail "restore under $kb KiB: the month not archived again"
done
met_all rst restore
expect 0 "$BARROT" verify
expect 0 "$ARCHIVE" verify

# Output that cannot be written is a failure, not a truncated dump with exit 0.
rc=0
"$BARROT" all --json >/dev/full 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "barrot all --json >/dev/full exited $rc"
contains "$T/err" "barrot: error: cannot write standard output"
# ... but not exit 1, "nothing stored", when the snapshot was: a script
# retrying on 1 would record it twice.
for cmd in "action deploy -q" "track deploy" "periodic"; do
  before=$(count total)
  rc=0
  "$BARROT" $cmd >/dev/full 2>"$T/err" || rc=$?
  [ "$rc" = 3 ] || fail "barrot $cmd >/dev/full exited $rc"
  contains "$T/err" "is recorded all the same: do not record it again"
  [ "$(count total)" = $((before + 1)) ] || fail "barrot $cmd >/dev/full: not recorded once"
done
# An import or a restore done, then its output lost: said, exit 3.
rc=0
"$BARROT" import "$DATA/legacy-snapshots" >/dev/full 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || fail "barrot import >/dev/full exited $rc"
contains "$T/err" "the import is done all the same"
# A reader gone from the pipe: the same, not a silent death by SIGPIPE.
before=$(count total)
{ sleep 0.2; r=0; "$BARROT" start deploy -q 2>"$T/err" || r=$?; echo "$r" > "$T/rc"; } | true
rc=$(cat "$T/rc")
[ "$rc" = 3 ] || fail "barrot start | (gone) exited $rc"
contains "$T/err" "is recorded all the same: do not record it again"
[ "$(count total)" = $((before + 1)) ] || fail "barrot start | (gone): not recorded once"
expect 0 "$BARROT" verify
echo "file_limit: ok (exit codes seen: ${!seen[*]}; import: ${!imp[*]}; restore: ${!rst[*]})"
