# Load: 8 writer processes of 10,000 snapshots each (one transaction per
# snapshot, the hardest case), while one process searches in a loop and an
# archive run deletes an old month. Every acknowledged snapshot is then in
# the database, as a file and as a log line, exactly once; no command saw
# "database is locked"; the write rate is reported. BARROT_LOAD_N changes
# the 10,000.
source "$(dirname "$0")/lib.sh"
[ -n "$ARCHIVE" ] || { echo "no barrot-archive" >&2; exit 125; }
N=${BARROT_LOAD_N:-10000}
S=$BARROT_SNAPSHOTS_DIR

# An old month for the archive run to take while the writers write.
mkdir old
gen_actions 2025 1 2000 > old/action_log.jsonl
"$BARROT" import old >/dev/null

start=$(date +%s.%N)
pids=()
for w in 1 2 3 4 5 6 7 8; do
  "$WRITER" "$S" "$N" 1 > "$T/acked.$w" 2>"$T/err.$w" &
  pids+=($!)
done
# The searcher: counts must only grow, and never fail.
(
  last=0
  while [ ! -e "$T/done" ]; do
    n=$("$BARROT" search --action writer --count 2>>"$T/err.search") \
      || { echo "search failed" >> "$T/err.search"; exit 1; }
    [ "$n" -ge "$last" ] || { echo "count went back: $last -> $n" >> "$T/err.search"; exit 1; }
    last=$n
    echo "$n" >> "$T/search.counts"
  done
) &
searcher=$!
sleep 1
"$ARCHIVE" run --month 2025-01 --retain-actions 1d --json > "$T/archive.json" 2>"$T/err.archive" \
  || { cat "$T/err.archive" >&2; fail "the archive run failed under load"; }
for p in "${pids[@]}"; do wait "$p" || { cat "$T"/err.* >&2; fail "a writer failed"; }; done
end=$(date +%s.%N)
touch "$T/done"
wait "$searcher" || { cat "$T/err.search" >&2; fail "the searcher failed"; }

total=$((8 * N))
cat "$T"/acked.[1-8] | sort > "$T/acked"
[ "$(wc -l < "$T/acked")" = "$total" ] || fail "acknowledged $(wc -l < "$T/acked") of $total"
[ -z "$(uniq -d "$T/acked")" ] || fail "an id was acknowledged twice"
[ "$("$BARROT" search --action writer --count)" = "$total" ] || fail "the database holds a different count"
"$BARROT" search --action writer --reverse --limit $((total + 1)) -o ids | sort | cmp - "$T/acked" \
  || fail "the database's ids differ from those acknowledged"
ls "$S" | grep -E '^action_.*\.json$' | sed 's/\.json$//' | sort | comm -23 "$T/acked" - | grep . \
  && fail "acknowledged snapshots without a file"
jq -r 'select(.action.type == "writer") | .snapshot_id' "$S/action_log.jsonl" | sort > "$T/logged"
cmp "$T/logged" "$T/acked" || fail "the log's writer lines differ from those acknowledged"
jq -e '.months[0].month == "2025-01" and .months[0].actions == 2000' "$T/archive.json" >/dev/null \
  || { cat "$T/archive.json" >&2; fail "the archive did not take the month"; }
if grep -il "locked\|busy" "$T"/err.*; then fail "a process saw the database locked or busy"; fi
expect 0 "$BARROT" verify
searches=$(wc -l < "$T/search.counts")
awk -v n="$total" -v a="$start" -v b="$end" -v s="$searches" 'BEGIN {
  printf "load: %d snapshots from 8 processes in %.1f s: %.0f snapshots/s, with %d searches and an archive run of 2000 snapshots meanwhile\n", n, b - a, n / (b - a), s }'
echo "load: ok"
