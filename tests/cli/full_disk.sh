# A full disk and a read-only file system, for real: a small tmpfs mounted
# for the test (root only; skipped where mounting is not allowed). Writes
# fail with a clear error, what is stored stays intact and readable, and
# writing resumes once space returns.
source "$(dirname "$0")/lib.sh"
mkdir small
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=6m tmpfs small 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here" >&2
  exit 125
fi
trap 'umount "$T/small" 2>/dev/null || true; cleanup' EXIT
export BARROT_SNAPSHOTS_DIR=$T/small/snapshots
for i in $(seq 20); do "$BARROT" action deploy "{\"n\":$i}" --status completed -q >/dev/null; done
"$BARROT" periodic -q >/dev/null
expect 0 "$BARROT" verify

# Fill the file system to the last block.
cat /dev/zero > small/filler 2>/dev/null || true
before=$(count total)
big=$(head -c 100000 /dev/zero | tr '\0' x)
rc=0
"$BARROT" action deploy "{\"blob\":\"$big\"}" --status completed >"$T/out" 2>"$T/err" || rc=$?
case $rc in
  1) [ "$(count total)" = "$before" ] || fail "exit 1 but a snapshot was stored" ;;
  3) [ "$(count total)" = $((before + 1)) ] || fail "exit 3 but nothing was stored" ;;
  *) cat "$T/err" >&2; fail "a write on a full disk exited $rc" ;;
esac
echo "a write on the full disk exited $rc: $(head -n 1 "$T/err")" >&2
grep -qiE 'no space left|disk is full|full' "$T/err" || { cat "$T/err" >&2; fail "the error does not say the disk is full"; }
# Still readable while full.
expect 0 "$BARROT" actions 5
expect 0 "$BARROT" search --action deploy --count
expect 0 "$BARROT" sql "SELECT count(*) FROM snapshots"
expect 2 "$BARROT" health --no-record --quick
contains "$T/out" "CRITICAL disk_space        0% free"

# Space returns: writing resumes, and the mirror catches up.
rm small/filler
expect 0 "$BARROT" action deploy '{"after":"space returned"}' --status completed -q
expect 0 "$BARROT" repair
expect 0 "$BARROT" verify
[ -z "$(find small/snapshots -name '*.tmp')" ] || fail "temp files were left"
want=$((before + 1 + (rc == 3 ? 1 : 0)))
[ "$(count total)" = "$want" ] || fail "expected $want snapshots, found $(count total)"

# A read-only file system: a clear error for writes, reads still work.
mount -o remount,ro small
expect 2 "$BARROT" action deploy '{}'
contains "$T/err" "not writable"
expect 0 "$BARROT" actions 3
expect 0 "$BARROT" verify
mount -o remount,rw small
expect 0 "$BARROT" action deploy '{}' -q
echo "full_disk: ok"
