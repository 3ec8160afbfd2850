# barrot-archive run and restore killed with SIGKILL at random points, again
# and again, then run to the end: every snapshot is exactly once in the store
# or an archive, nothing is left half-done, and both verifies are clean.
source "$(dirname "$0")/lib.sh"
[ -n "$ARCHIVE" ] || fail "no barrot-archive given"
cycles=${BARROT_ARCHIVE_KILL_CYCLES:-10}
A=snapshots/archive

mkdir legacy
{ gen_actions 2025 1 800; gen_actions 2025 2 800; gen_actions 2025 3 400; } > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
jq -r .snapshot_id legacy/action_log.jsonl | sort > "$T/all_ids"
cp -a snapshots "$T/template"

# How long an uninterrupted run takes, to spread the kills over all of it.
start=$(date +%s%N)
expect 0 "$ARCHIVE" run
span_ms=$(( ($(date +%s%N) - start) / 1000000 + 20 ))

check_everything() { # WHAT [restored]: a restored month is in both, by design
  ids_everywhere
  if [ -z "${2:-}" ]; then
    [ -z "$(comm -12 "$T/in_store" "$T/in_archives")" ] || fail "$1: a snapshot is both archived and stored"
  fi
  [ -z "$(uniq -d "$T/in_archives")" ] || fail "$1: a snapshot is twice in the archives"
  [ -z "$(uniq -d "$T/in_store")" ] || fail "$1: a snapshot is twice in the store"
  sort -m -u "$T/in_store" "$T/in_archives" | grep -v '^periodic_' > "$T/now_ids" || true
  cmp -s "$T/now_ids" "$T/all_ids" || fail "$1: snapshots lost or added ($(wc -l < "$T/now_ids") vs $(wc -l < "$T/all_ids"))"
  expect 0 "$BARROT" verify --chain
  expect 0 "$ARCHIVE" verify
  [ -z "$(find snapshots -name '.*.tmp')" ] || fail "$1: temp files left: $(find snapshots -name '.*.tmp')"
  [ "$(jq -r .snapshot_id snapshots/action_log.jsonl | sort | uniq -d | wc -l)" = 0 ] || fail "$1: duplicate log lines"
}

kills=0
for c in $(seq 1 "$cycles"); do
  rm -rf snapshots && cp -a "$T/template" snapshots
  # One to three kills of the run, then a run to the end.
  for k in $(seq 1 $(( RANDOM % 3 + 1 ))); do kill_at_random "$ARCHIVE" run; kills=$((kills + 1)); done
  expect 0 "$ARCHIVE" run
  check_everything "cycle $c (run)"
  [ "$(count actions)" = 0 ] || fail "cycle $c: the run did not finish the months"
  # Restore killed too, then finished.
  kill_at_random "$ARCHIVE" restore 2025-02
  kills=$((kills + 1))
  expect 0 "$ARCHIVE" restore 2025-02
  check_everything "cycle $c (restore)" restored
  [ "$(count actions)" = 800 ] || fail "cycle $c: restore did not bring the month back"
done
echo "archive_kill: ok ($cycles cycles, $kills kills, run ~${span_ms} ms)"
