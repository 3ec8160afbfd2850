# barrot tail: the newest matching snapshots oldest first; -f follows writes
# from other processes with the same filters until interrupted.
source "$(dirname "$0")/lib.sh"

for i in $(seq 1 6); do
  expect 0 "$BARROT" action deploy "{\"n\":$i}" --status completed -q
  expect 0 "$BARROT" action build "{\"n\":$i}" --status failed -q
done
expect 0 "$BARROT" search --limit 3 -o ids
tac "$T/out" > "$T/want"
expect 0 "$BARROT" tail -n 3 -o ids
cmp -s "$T/out" "$T/want" || fail "tail -n 3 is not the newest three, oldest first"
expect 0 "$BARROT" tail --action build --where 'n>=5' -o jsonl
[ "$(jq -r .action.details.n "$T/out" | tr '\n' ' ')" = "5 6 " ] || fail "tail with filters"
expect 0 "$BARROT" tail
[ "$(wc -l < "$T/out")" = 10 ] || fail "tail prints 10 by default"

# -f: only new deploy snapshots, each once, in order, until SIGINT.
"$BARROT" tail -f -n 0 --action deploy -o ids > "$T/followed" 2>"$T/ferr" &
pid=$!
sleep 0.3
: > "$T/written"
for i in $(seq 1 5); do
  "$BARROT" action deploy "{\"m\":$i}" -q >> "$T/written"
  "$BARROT" action build "{\"m\":$i}" -q > /dev/null
done
"$WRITER" "$BARROT_SNAPSHOTS_DIR" 20 5 >> "$T/written_batch"   # another process, batches of 5
for _ in $(seq 1 50); do
  [ "$(wc -l < "$T/followed")" -ge 5 ] && break
  sleep 0.1
done
kill -INT "$pid"
code=0; wait "$pid" || code=$?
[ "$code" = 0 ] || { cat "$T/ferr"; fail "tail -f exited $code on SIGINT"; }
cmp -s "$T/followed" "$T/written" || { diff "$T/followed" "$T/written"; fail "tail -f output"; }

# Everything new, from a writer process, none twice.
"$BARROT" tail -f -n 0 -o ids > "$T/all_followed" &
pid=$!
sleep 0.3
"$WRITER" "$BARROT_SNAPSHOTS_DIR" 40 7 > "$T/acked"
for _ in $(seq 1 50); do
  [ "$(wc -l < "$T/all_followed")" -ge 40 ] && break
  sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
cmp -s <(sort "$T/all_followed") <(sort "$T/acked") || fail "tail -f missed or repeated a snapshot"

# --until in the past: -f prints what matches and stops; within the busy
# timeout it follows, and prints what commits meanwhile.
expect 0 timeout 10 "$BARROT" tail -f -n 2 --until '1h ago' -o ids
[ ! -s "$T/out" ] || fail "tail -f --until an hour ago printed $(cat "$T/out")"
BARROT_BUSY_TIMEOUT=0 expect 0 timeout 10 "$BARROT" tail -f -n 2 --until now -o ids
[ "$(wc -l < "$T/out")" = 2 ] || fail "tail -f --until now printed $(cat "$T/out")"
BARROT_BUSY_TIMEOUT=0.5 "$BARROT" tail -f -n 0 --until "$(date -u -d '+2 sec' +%FT%TZ)" -o ids \
  > "$T/until_followed" &
pid=$!
sleep 0.3
"$BARROT" action within_until -q > "$T/until_written"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && { kill "$pid"; fail "tail -f did not stop after --until"; }
wait "$pid" || fail "tail -f --until exited $?"
cmp -s "$T/until_followed" "$T/until_written" || fail "tail -f --until missed a snapshot"

# stops_with CODE PID WHAT: the tail -f at PID stops by itself within 5 s,
# with exit CODE.
stops_with() {
  local code=0
  for _ in $(seq 1 50); do
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$2" 2>/dev/null && { kill "$2"; fail "tail -f went on following $3"; }
  wait "$2" || code=$?
  [ "$code" = "$1" ] || fail "tail -f on $3 exited $code"
}

# The database removed while followed: exit 1, naming it.
"$BARROT" tail -f -n 0 -o ids > /dev/null 2> "$T/moved_err" &
pid=$!
sleep 0.3
mv "$BARROT_SNAPSHOTS_DIR/.barrot/barrot.db" "$T/moved.db"
stops_with 1 "$pid" "a removed database"
contains "$T/moved_err" "was removed or replaced"
mv "$T/moved.db" "$BARROT_SNAPSHOTS_DIR/.barrot/barrot.db"

# Restored in place to an older state (same file): exit 1 too, rather than
# skip the snapshots that reuse the counters it passed.
sqlite3 "$BARROT_SNAPSHOTS_DIR/.barrot/barrot.db" ".backup '$T/backup.db'"
for i in 1 2 3; do "$BARROT" action before_restore -q >/dev/null; done
"$BARROT" tail -f -n 0 -o ids > /dev/null 2> "$T/restored_err" &
pid=$!
sleep 0.3
sqlite3 "$BARROT_SNAPSHOTS_DIR/.barrot/barrot.db" ".restore '$T/backup.db'"
# ... with more written at once than it passed: the counters run past where
# it was, so only what is at them tells.
"$WRITER" "$BARROT_SNAPSHOTS_DIR" 6 6 > /dev/null
stops_with 1 "$pid" "a restored database"
contains "$T/restored_err" "was restored to an older state"
# --until long past: a note, and no following.
expect 0 timeout 10 "$BARROT" tail -f -n 0 --until 2020-01-01
contains "$T/err" "--until is past"

expect 2 "$BARROT" tail -f -o json
contains "$T/err" "use -o jsonl"
expect 2 "$BARROT" tail -n x
expect 2 "$BARROT" tail --where '=1'
echo "tail: ok"
