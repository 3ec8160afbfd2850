# Symlinks planted in the snapshots directory are never written through, and
# names taken from input (months, ids) never reach outside their directory.
# The targets are decoy files of this test, checked unchanged afterwards.
source "$(dirname "$0")/lib.sh"
S=$BARROT_SNAPSHOTS_DIR

decoy=$T/decoy
printf 'root:x:0:0:decoy\n' > "$decoy"
decoy_dir=$T/elsewhere
mkdir "$decoy_dir"
unchanged() {
  [ "$(cat "$decoy")" = 'root:x:0:0:decoy' ] || fail "the decoy was written through: $1"
  [ -z "$(ls -A "$decoy_dir")" ] || fail "a file was created elsewhere: $1"
}

"$BARROT" periodic -q >/dev/null

# action_log.jsonl as a symlink: refused when the store opens, before
# anything is written, naming the file; nothing is appended to the target.
before=$(count total)
mv "$S/action_log.jsonl" "$T/log.saved" 2>/dev/null || true
ln -s "$decoy" "$S/action_log.jsonl"
expect 1 "$BARROT" action deploy '{}' --status completed
contains "$T/err" "action_log.jsonl: a symbolic link, not followed"
unchanged "action_log.jsonl"
[ "$(count total)" = "$before" ] || fail "a snapshot was written beside a refused log"
rm "$S/action_log.jsonl"

# latest_periodic.json as a symlink: replaced by a regular file, target untouched.
rm -f "$S/latest_periodic.json"
ln -s "$decoy" "$S/latest_periodic.json"
expect 0 "$BARROT" periodic -q
[ -f "$S/latest_periodic.json" ] && [ ! -L "$S/latest_periodic.json" ] || fail "latest is still a link"
unchanged "latest_periodic.json"

# Its temporary name as a symlink: unlinked, never written through.
ln -s "$decoy" "$S/.latest_periodic.json.tmp"
expect 0 "$BARROT" periodic -q
unchanged ".latest_periodic.json.tmp"
[ ! -e "$S/.latest_periodic.json.tmp" ] || fail "the temp link was left"

# The lock files as symlinks: refused, not followed.
mv "$S/.barrot/lock" "$T/lock.saved"
ln -s "$decoy" "$S/.barrot/lock"
expect 1 "$BARROT" action deploy '{}' -q
contains "$T/err" "lock"
unchanged ".barrot/lock"
rm "$S/.barrot/lock" && mv "$T/lock.saved" "$S/.barrot/lock"

# A snapshot's own file name taken by a symlink (planted before an import
# brings that snapshot): the import's mirroring does not follow it; it moves
# the link aside (quarantine) and writes the real file in its place.
mkdir legacy
id=action_20251222_023211_483890
jq -cn --arg id "$id" '{snapshot_id: $id, snapshot_type: "action",
  timestamp: "2025-12-22T02:32:11.483890Z", action: {type: "deploy", status: "completed",
  details: {}, started_at: "2025-12-22T02:32:11.483890Z"},
  metadata: {generated_by: "BarrotSnapshotGenerator", version: "1.0.0"}}' > "legacy/action_log.jsonl"
ln -s "$decoy_dir/$id.json" "$S/$id.json"
expect 0 "$BARROT" import legacy
unchanged "<id>.json"
[ -f "$S/$id.json" ] && [ ! -L "$S/$id.json" ] || fail "the planted link is still there"
[ "$(jq -r .snapshot_id "$S/$id.json")" = "$id" ] || fail "the real file was not written"
expect 0 "$BARROT" verify
# The same link planted after the fact: verify names it, repair replaces it.
rm "$S/$id.json"
ln -s "$decoy" "$S/$id.json"
expect 1 "$BARROT" verify
contains "$T/out" "$id"
expect 0 "$BARROT" repair
unchanged "repair of <id>.json"
[ ! -L "$S/$id.json" ] || fail "repair left the link"
expect 0 "$BARROT" verify

# A directory planted where the log goes: a clear error, nothing written.
rm -f "$S/action_log.jsonl"
mkdir "$S/action_log.jsonl"
before=$(count total)
set +e; "$BARROT" action deploy '{}' --status completed >"$T/out" 2>"$T/err"; rc=$?; set -e
[ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "a directory as the log: exit $rc"
contains "$T/err" "action_log.jsonl"
[ "$(count total)" = "$before" ] || fail "a snapshot was written beside a directory log"
rmdir "$S/action_log.jsonl"

# Names from input never become paths.
expect 2 "$BARROT" view "../../$(basename "$decoy")"
expect 2 "$BARROT" view "$decoy"
if [ -n "$ARCHIVE" ]; then
  expect 2 "$ARCHIVE" restore ../../decoy
  expect 2 "$ARCHIVE" restore 2025-13
  expect 2 "$ARCHIVE" run --month "../2025-01"
  expect 2 "$ARCHIVE" verify "2025-01/../../x"
fi
unchanged "the end"
echo "hostile_paths: ok"
