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
expect 2 "$BARROT" import "$T/does-not-exist"
contains "$T/err" "does-not-exist"
echo "legacy_import: ok"
