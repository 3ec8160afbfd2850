# Checks and fixes of the whole store (verify, verify --chain, repair,
# import) while barrot-archive moves months out of it: each either waits for
# the run and reports the store as it is, or gives up naming the run (exit
# 1) — never a disagreement the run makes on its way, nor an internal error.
source "$(dirname "$0")/lib.sh"
[ -n "$ARCHIVE" ] || fail "no barrot-archive given"

mkdir legacy
{ gen_actions 2025 1 3000; gen_actions 2025 2 3000; gen_actions 2025 3 3000; } \
  > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
expect 0 "$BARROT" periodic

# A run in progress (its lock held here): each waits, then gives up, names
# it and changes nothing.
exec 9>snapshots/.barrot/archive.lock
flock -n 9
for cmd in verify "verify --chain" repair "import legacy" "mirror --rebuild"; do
  expect 1 "$BARROT" --busy-timeout 0.2 $cmd
  contains "$T/err" "a barrot-archive run or month restore is working on this store"
done
# health says it did not look, rather than paging on a half-moved month.
"$BARROT" --busy-timeout 0.2 health --no-record --json > "$T/out" || true # (other checks decide)
jq -e '.checks[] | select(.name == "mirror_files") | .skipped and .state == "OK"' "$T/out" >/dev/null \
  || { cat "$T/out"; fail "health's mirror check during an archive run"; }
exec 9>&-

# A real run, and the checks in a loop beside it. Either outcome is fine;
# what they report must be true of the store.
"$ARCHIVE" run -q > "$T/run.out" 2>&1 &
run=$!
checks=0
while kill -0 "$run" 2>/dev/null; do
  for cmd in verify "verify --chain" repair; do
    rc=0
    "$BARROT" --busy-timeout 0.05 $cmd > "$T/c.out" 2> "$T/c.err" || rc=$?
    checks=$((checks + 1))
    if [ "$rc" != 0 ]; then
      grep -qF "a barrot-archive run or month restore is working on this store" "$T/c.err" \
        || { cat "$T/c.out" "$T/c.err" >&2; fail "'$cmd' during an archive run exited $rc"; }
    fi
  done
done
wait "$run" || { cat "$T/run.out" >&2; fail "the archive run failed"; }
[ "$checks" -gt 0 ] || fail "no check ran beside the archive run"
expect 0 "$BARROT" verify
expect 0 "$BARROT" verify --chain
expect 0 "$ARCHIVE" verify
[ "$(count actions)" = 0 ] || fail "archived actions still in the store"
echo "ok: $checks checks beside the run"
