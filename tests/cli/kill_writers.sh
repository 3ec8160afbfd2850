# Writers killed with SIGKILL at random points, many times (half of them with
# the background mirror): afterwards repair and verify are clean, no temp or torn file is left, no acknowledged snapshot is lost.
source "$(dirname "$0")/lib.sh"
cycles=${BARROT_KILL_CYCLES:-40}

: > "$T/acked"
for c in $(seq 1 "$cycles"); do
  batch=$(( c % 3 == 0 ? 5 : 1 ))
  # Every other writer mirrors on its background thread: killed, it leaves
  # committed snapshots whose files and lines were still queued.
  BARROT_TEST_BACKGROUND=$(( c % 2 )) \
    "$WRITER" "$BARROT_SNAPSHOTS_DIR" 0 "$batch" 25 >> "$T/acked" 2>>"$T/err" &
  pid=$!
  sleep "0.0$(( RANDOM % 9 + 1 ))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
# A killed writer may have printed a partial last id: only whole ids count.
grep -E '^(action_[0-9]{8}_[0-9]{6}_[0-9]{6}|periodic_[0-9]{8}_[0-9]{6})$' "$T/acked" | sort -u > "$T/ids"
n=$(wc -l < "$T/ids")
[ "$n" -gt 0 ] || fail "no write was acknowledged"

# The next write command's open alone must heal what the kills left.
expect 0 "$BARROT" track after_kills
expect 0 "$BARROT" verify
expect 0 "$BARROT" repair --json
jq -e '.files_written == 0 and .lines_appended == 0 and .lines_dropped == 0
  and (.log_rewritten | not) and .temp_files_removed == 0' "$T/out" >/dev/null \
  || { cat "$T/out"; fail "the open left something for repair"; }
expect 0 "$BARROT" verify --chain
[ -z "$(find snapshots -maxdepth 1 -name '.*.tmp')" ] || fail "temp files left"
jq -e . snapshots/action_log.jsonl >/dev/null || fail "torn log line left"
"$BARROT" all --json | jq -r .snapshot_id | sort > "$T/stored"
missing=$(comm -23 "$T/ids" "$T/stored" | wc -l)
[ "$missing" = 0 ] || fail "$missing acknowledged snapshots lost"
for id in $(shuf -n 50 "$T/ids"); do [ -f "snapshots/$id.json" ] || fail "no file for $id"; done
[ "$(jq -r .snapshot_id snapshots/action_log.jsonl | sort | uniq -d | wc -l)" = 0 ] || fail "duplicate lines"
echo "kill_writers: ok ($cycles cycles, $n acknowledged snapshots, $(wc -l < "$T/stored") stored)"
