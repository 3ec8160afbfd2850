# barrot import (from another directory and in place) and barrot repair
# killed with SIGKILL at random points, cycle after cycle: an import is all
# there or not at all, the next command heals what a kill left, no temp or
# torn file and no duplicate line stays, and verify --chain is clean.
source "$(dirname "$0")/lib.sh"
# About 8 s a cycle in the CI build; the sanitized build is several times
# slower, so it runs fewer (docs/security.md gives a longer run's figures).
cycles=${BARROT_KILL_CYCLES:-$([ -n "${ASAN_OPTIONS:-}" ] && echo 3 || echo 8)}

mkdir legacy
gen_actions 2025 1 1500 > legacy/action_log.jsonl
expect 0 "$BARROT" periodic
expect 0 "$BARROT" action before '{}'
base=$(count total)
cp -a snapshots "$T/template"

# How long an uninterrupted import takes, to spread the kills over it.
start=$(date +%s%N)
expect 0 "$BARROT" import legacy
span_ms=$(( ($(date +%s%N) - start) / 1000000 + 20 ))

healed() { # WHAT: the next write's open heals; then everything is whole
  expect 0 "$BARROT" action after_kill '{}' -q
  expect 0 "$BARROT" verify --chain
  [ -z "$(find snapshots -name '.*.tmp')" ] || fail "$1: temp files left"
  jq -e . snapshots/action_log.jsonl >/dev/null || fail "$1: torn log line left"
  [ "$(jq -r .snapshot_id snapshots/action_log.jsonl | sort | uniq -d | wc -l)" = 0 ] \
    || fail "$1: duplicate log lines"
}

kills=0
all_or_nothing=0
for c in $(seq 1 "$cycles"); do
  # 1. An import from another directory, killed: none or all of it.
  rm -rf snapshots && cp -a "$T/template" snapshots
  kill_at_random "$BARROT" import legacy
  kills=$((kills + 1))
  n=$(( $(count total) - base ))
  [ "$n" = 0 ] || [ "$n" = 1500 ] || fail "cycle $c: a killed import left $n of 1500 snapshots"
  all_or_nothing=$((all_or_nothing + 1))
  healed "cycle $c (import)"
  expect 0 "$BARROT" import legacy # finishes it, or adds nothing
  [ "$(( $(count total) - base - 1 ))" = 1500 ] || fail "cycle $c: the import did not complete"
  healed "cycle $c (import again)"

  # 2. Repair of a damaged mirror, killed, then run again.
  find snapshots -maxdepth 1 -name 'action_2025*.json' | shuf -n 200 | xargs rm -f
  sed -i '5d; 10s/"deploy"/"deplox"/' snapshots/action_log.jsonl
  printf '{"snapshot_id":"action_2025' >> snapshots/action_log.jsonl
  for k in 1 2; do kill_at_random "$BARROT" repair; kills=$((kills + 1)); done
  expect 0 "$BARROT" repair
  healed "cycle $c (repair)"

  # 3. An import in place (the directory itself), killed.
  rm -rf snapshots && mkdir snapshots && cp legacy/action_log.jsonl snapshots/
  kill_at_random "$BARROT" import snapshots
  kills=$((kills + 1))
  expect 0 "$BARROT" import snapshots
  [ "$(count total)" = 1500 ] || fail "cycle $c: in place: $(count total) of 1500"
  healed "cycle $c (import in place)"
done
echo "kill_import_repair: ok ($cycles cycles, $kills kills, $all_or_nothing imports all or nothing, import ~${span_ms} ms)"
