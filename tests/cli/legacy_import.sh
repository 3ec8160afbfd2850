# The legacy export imports, idempotently, and re-exports equivalent files.
source "$(dirname "$0")/lib.sh"
legacy="$DATA/legacy-snapshots"

expect 0 "$BARROT" import "$legacy"
contains "$T/out" "imported 16, already present 0"
expect 0 "$BARROT" import "$legacy"
contains "$T/out" "imported 0, already present 16"
expect 0 "$BARROT" verify
for f in "$legacy"/*.json; do
  n=$(basename "$f")
  cmp <(jq -S . "$f") <(jq -S 'del(.metadata.chain)' "snapshots/$n") \
    || fail "$n differs after re-export"
done
cmp <(jq -cS . "$legacy/action_log.jsonl") <(jq -cS 'del(.metadata.chain)' snapshots/action_log.jsonl) \
  || fail "action log differs after re-export"
[ "$(jq -r .action.status "snapshots/action_20251222_022649_708916.json")" = executing ] \
  || fail "legacy status altered"

# Damaged input: named, skipped, the rest imported; exit 0.
cp -r "$legacy" "$T/damaged"; chmod -R u+w "$T/damaged"
head -c 100 "$legacy/periodic_20251222_023211.json" > "$T/damaged/periodic_20251222_023211.json"
printf '{"snapshot_id": "action_2025' >> "$T/damaged/action_log.jsonl"
expect 0 "$BARROT" --dir "$T/d2" --json import "$T/damaged"
jq -e '.imported == 16 and (.skipped | length) == 2' "$T/out" >/dev/null || { cat "$T/out"; fail "damaged import"; }
jq -e '.skipped[] | select(.source == "periodic_20251222_023211.json")' "$T/out" >/dev/null \
  || fail "truncated file not named"
# In place (the documented migration): the directory is read as it is. A
# last line without its newline is a whole snapshot and is imported; bad
# lines are named with their own numbers, then moved aside by the repair.
cp -r "$legacy" "$T/inplace"; chmod -R u+w "$T/inplace"
rm "$T/inplace/action_20251222_023615_449526.json" # its only copy: the last line
sed -i '3a garbage' "$T/inplace/action_log.jsonl"
truncate -s -1 "$T/inplace/action_log.jsonl"
expect 0 "$BARROT" --dir "$T/inplace" import "$T/inplace"
contains "$T/out" "skipped action_log.jsonl:4: not valid JSON"
contains "$T/out" "imported 16, already present 0, conflicts 0, skipped 1 (read 16 files, 16 log lines)"
expect 0 "$BARROT" --dir "$T/inplace" view action_20251222_023615_449526
grep -qx garbage "$T"/inplace/.barrot/quarantine/*/action_log.rejected.jsonl || fail "garbage not kept aside"
expect 0 "$BARROT" --dir "$T/inplace" verify
[ "$(tail -c 1 "$T/inplace/action_log.jsonl" | od -An -c | tr -d ' ')" = '\n' ] || fail "no final newline"
# verify names a whole last line without its newline; repair adds it.
truncate -s -1 "$T/inplace/action_log.jsonl"
expect 1 "$BARROT" --dir "$T/inplace" verify
contains "$T/out" "a whole snapshot without its newline (repair adds it)"
expect 0 "$BARROT" --dir "$T/inplace" repair
expect 0 "$BARROT" --dir "$T/inplace" verify
expect 0 "$BARROT" --dir "$T/inplace" view action_20251222_023615_449526

# A snapshot dated in the future is imported, with a warning naming it.
mkdir "$T/future"
sed -e 's/periodic_20251222_023211/periodic_20991222_023211/' -e 's/2025-12-22T02:32:11/2099-12-22T02:32:11/' \
  "$legacy/periodic_20251222_023211.json" > "$T/future/periodic_20991222_023211.json"
expect 0 "$BARROT" --dir "$T/d4" import "$T/future"
contains "$T/err" "barrot: warning: 1 imported snapshot(s) are dated in the future, the newest periodic_20991222_023211"
expect 0 "$BARROT" --dir "$T/d5" --json import "$T/future"
jq -e '.future == 1 and .newest_future == "periodic_20991222_023211"' "$T/out" >/dev/null || fail "future in --json"

# A file that is a symbolic link is not followed, and said to be one.
mkdir "$T/linked"
ln -s "$legacy/action_20251222_022057_454420.json" "$T/linked/action_20251222_022057_454420.json"
expect 0 "$BARROT" --dir "$T/d3" import "$T/linked"
contains "$T/out" "skipped action_20251222_022057_454420.json: cannot open action_20251222_022057_454420.json: a symbolic link, not followed"

expect 2 "$BARROT" import "$T/does-not-exist"
contains "$T/err" "does-not-exist"
echo "legacy_import: ok"
