# Several processes write one store at once (two of them mirroring on a
# background thread): every snapshot exactly once in
# the database, as a file and as a log line; every line valid JSON.
source "$(dirname "$0")/lib.sh"

pids=()
for w in 1 2 3 4; do
  batch=$(( w % 2 == 0 ? 7 : 1 ))
  # Writers 3 and 4 mirror on their background thread.
  BARROT_TEST_BACKGROUND=$(( w > 2 )) \
    "$WRITER" "$BARROT_SNAPSHOTS_DIR" 300 "$batch" 50 > "$T/acked.$w" 2>"$T/err.$w" &
  pids+=($!)
done
for _ in 1 2 3; do "$BARROT" track cli_writer '{"from":"cli"}' -q >> "$T/acked.cli"; done
for p in "${pids[@]}"; do wait "$p" || { cat "$T"/err.*; fail "writer failed"; }; done

cat "$T"/acked.* | sort > "$T/acked"
[ "$(wc -l < "$T/acked")" = 1203 ] || fail "acked $(wc -l < "$T/acked")"
[ "$(uniq -d "$T/acked" | wc -l)" = 0 ] || fail "duplicate ids"
[ "$(count total)" = 1203 ] || fail "database holds $(count total)"
[ "$(ls snapshots | grep -cE '^(action|periodic)_.*\.json$')" = 1203 ] || fail "files"
actions=$(grep -c '^action_' "$T/acked")
[ "$(wc -l < snapshots/action_log.jsonl)" = "$actions" ] || fail "log lines"
jq -r .snapshot_id snapshots/action_log.jsonl | sort | uniq -d | grep . && fail "duplicate lines"
cmp <(jq -r .snapshot_id snapshots/action_log.jsonl | sort) <(grep '^action_' "$T/acked") \
  || fail "log ids differ from acknowledged ids"
expect 0 "$BARROT" verify
cmp <(jq -S 'del(.metadata.chain)' snapshots/latest_periodic.json) <("$BARROT" latest --json | jq -S .) \
  || fail "latest_periodic.json is not the newest periodic snapshot"
# Three processes claiming the very same microsecond for every action: each
# snapshot still gets its own id (the time moves on by 1 us), none is lost.
export BARROT_SNAPSHOTS_DIR="$T/same_us"
pids=()
for w in 1 2 3; do
  BARROT_TEST_AT=1766370731483890 "$WRITER" "$BARROT_SNAPSHOTS_DIR" 60 $(( w == 2 ? 4 : 1 )) \
    > "$T/same.$w" 2>"$T/same_err.$w" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { cat "$T"/same_err.*; fail "writer failed"; }; done
cat "$T"/same.* | sort > "$T/same"
[ "$(sort -u "$T/same" | wc -l)" = 180 ] || fail "same-microsecond ids not unique"
[ "$(head -1 "$T/same")" = action_20251222_023211_483890 ] || fail "first id $(head -1 "$T/same")"
[ "$(tail -1 "$T/same")" = action_20251222_023211_484069 ] || fail "ids are not consecutive"
[ "$(count total)" = 180 ] || fail "database holds $(count total)"
expect 0 "$BARROT" verify
echo "concurrent_writers: ok"
