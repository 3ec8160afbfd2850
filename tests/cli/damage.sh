# Hand damage to the mirror: verify names each problem, repair fixes it from the database.
source "$(dirname "$0")/lib.sh"

for i in 1 2 3 4 5; do "$BARROT" action step "{\"i\":$i}" >/dev/null; done
"$BARROT" periodic >/dev/null
ids=($(ls snapshots | grep '^action_' | sed 's/\.json$//'))

rm "snapshots/${ids[0]}.json"
sed -i 's/"step"/"STEP"/' "snapshots/${ids[1]}.json"
truncate -s -30 snapshots/action_log.jsonl
echo '{"half' > snapshots/.latest_periodic.json.tmp

expect 1 "$BARROT" verify
contains "$T/out" "missing_file  ${ids[0]}.json"
contains "$T/out" "different_file  ${ids[1]}.json"
contains "$T/out" "torn_line  action_log.jsonl"
contains "$T/out" "temp_file  .latest_periodic.json.tmp"
expect 1 "$BARROT" verify --json
jq -e '.clean == false and (.problems | length) == 5' "$T/out" >/dev/null || { cat "$T/out"; fail "verify --json"; }

expect 0 "$BARROT" repair
contains "$T/out" "replaced content kept in"
expect 0 "$BARROT" verify
[ "$(wc -l < snapshots/action_log.jsonl)" = 5 ] || fail "log has $(wc -l < snapshots/action_log.jsonl) lines"
jq -e . snapshots/action_log.jsonl >/dev/null || fail "log not valid JSON lines"
[ -z "$(find snapshots -maxdepth 1 -name '.*.tmp')" ] || fail "temp file left"

expect 0 "$BARROT" mirror --rebuild
expect 0 "$BARROT" verify
echo "damage: ok"
