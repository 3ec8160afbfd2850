# Periodic snapshots from the CLI: inputs, configuration errors, the daemon and its signals.
source "$(dirname "$0")/lib.sh"

mkdir -p base
cp "$DATA/build_manifest.yaml" base/
expect 0 "$BARROT" periodic --base-dir base --process 'barrot' --json
jq -e '.build_state.build_signature == "BNDL-V2" and .rail_status.deployment == "stable"
  and .active_processes.count >= 1 and .interval == "30_minutes"
  and ([.active_processes.processes[].name] | unique) == ["barrot"]' "$T/out" >/dev/null \
  || { cat "$T/out"; fail "periodic sections"; }

# Configuration: a typo is named, nothing is written.
printf 'base_dir: base\nintervall: 5m\n' > bad.yaml
expect 2 "$BARROT" periodic --config bad.yaml
contains "$T/err" "'intervall' is not a setting"
BARROT_CONFIG=bad.yaml expect 2 "$BARROT" periodic
expect 2 "$BARROT" periodic --interval soon
contains "$T/err" "invalid duration 'soon'"
expect 2 "$BARROT" periodic --process ''
contains "$T/err" "a process pattern is empty"
awk 'BEGIN { s = "process_patterns: "; for (i = 0; i < 5000; i++) s = s "["; print s }' > deep.yaml
expect 2 "$BARROT" periodic --config deep.yaml
contains "$T/err" "nested too deep for the YAML parser"
[ "$(count periodic)" = 1 ] || fail "a refused configuration wrote a snapshot"
printf 'base_dir: base\ninterval: 15m\n' > good.yaml
# A mistake in the archive: section (barrot-archive's) is warned about, and
# the snapshot is taken all the same.
printf 'interval: 30m\narchive:\n  levle: 5\n' > archive_typo.yaml
expect 0 "$BARROT" --dir "$T/typo" periodic --config archive_typo.yaml -q
contains "$T/err" "'archive.levle' is not a setting"
contains "$T/err" "barrot-archive refuses this configuration"
expect 0 "$BARROT" periodic --config good.yaml --json
jq -e '.interval == "15_minutes" and .build_state.build_signature == "BNDL-V2"' "$T/out" \
  >/dev/null || fail "configuration file not applied"

# The daemon: one snapshot per second until SIGTERM, then a clean exit.
"$BARROT" daemon --interval 1s --base-dir base 2>"$T/daemon.err" &
pid=$!
sleep 1.5
# Between snapshots it holds none of the store's files open (looked at a
# few times, in case one look falls on a snapshot being taken).
for look in 1 2 3 4 5; do
  held=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c "$BARROT_SNAPSHOTS_DIR" || true)
  [ "$held" = 0 ] && break
  sleep 0.1
done
[ "$held" = 0 ] || { ls -l "/proc/$pid/fd"; fail "the waiting daemon holds $held store files"; }
sleep 1.4
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$T/daemon.err"; fail "daemon exited $rc"; }
contains "$T/daemon.err" "stopped after"
n=$(grep -c '^barrot daemon: snapshot periodic_' "$T/daemon.err")
[ "$n" -ge 2 ] && [ "$n" -le 5 ] || { cat "$T/daemon.err"; fail "daemon took $n snapshots in 3.4 s"; }
[ "$(count periodic)" = $((2 + n)) ] || fail "periodic count"
expect 0 "$BARROT" verify

# diff: the last two by default, or the ones named.
sed -i 's/deployment: stable/deployment: degraded/' base/build_manifest.yaml
expect 0 "$BARROT" periodic --base-dir base
expect 0 "$BARROT" diff
contains "$T/out" 'rail_status.deployment: "stable" -> "degraded"'
first=$("$BARROT" all --json | jq -r 'select(.snapshot_type == "periodic") | .snapshot_id' | head -1)
expect 0 "$BARROT" diff "$first" --json
jq -e --arg f "$first" '.from == $f and (.to | startswith("periodic_"))' "$T/out" >/dev/null \
  || fail "diff A"
action=$("$BARROT" track x -q)
expect 2 "$BARROT" diff "$action"
contains "$T/err" "is not a periodic snapshot"
expect 2 "$BARROT" diff ../../etc/passwd
expect 1 "$BARROT" --dir "$T/empty" diff
"$BARROT" --dir "$T/one" periodic -q >/dev/null
expect 1 "$BARROT" --dir "$T/one" diff
contains "$T/err" "needs two periodic snapshots"
# A failing source is recorded in the snapshot and said on stderr.
printf 'rail_status: [\n' > "$T/broken.yaml"
expect 0 "$BARROT" periodic --base-dir base --manifest "$T/broken.yaml" --json
contains "$T/err" "barrot: warning: build_state:"
jq -e '.system_state.health == "degraded" and (.build_state | has("error"))' "$T/out" \
  >/dev/null || fail "a broken manifest was not recorded"

# The daemon survives a failing tick: the store is busy (another process
# holds its write lock past the busy timeout) at first, then free.
"$BARROT" --dir "$T/later" periodic -q >/dev/null
(echo "BEGIN IMMEDIATE;"; sleep 2.5; echo "COMMIT;") | sqlite3 "$T/later/.barrot/barrot.db" &
holder=$!
sleep 0.3
"$BARROT" --busy-timeout 0.2 --dir "$T/later" daemon --interval 1s 2>"$T/later.err" &
pid=$!
for _ in $(seq 1 100); do grep -q "error:" "$T/later.err" 2>/dev/null && break; sleep 0.1; done
wait "$holder"
for _ in $(seq 1 100); do grep -q "snapshot periodic_" "$T/later.err" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$T/later.err"; fail "daemon exited $rc after an error"; }
contains "$T/later.err" "barrot daemon: error:"
contains "$T/later.err" "barrot daemon: snapshot periodic_"
# Its log to a pipe whose reader goes away (a log consumer restarting): the
# daemon goes on, and stops cleanly when told.
mkfifo "$T/log.fifo"
head -n 1 < "$T/log.fifo" > "$T/first.line" &
reader=$!
"$BARROT" --dir "$T/piped" daemon --interval 1s 2> "$T/log.fifo" &
pid=$!
wait "$reader"
sleep 2.5 # two more ticks, each logging into the closed pipe
kill -0 "$pid" 2>/dev/null || fail "the daemon ended when its log pipe closed"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "daemon exited $rc after its log pipe closed"
[ "$("$BARROT" --dir "$T/piped" search --type periodic --count)" -ge 3 ] \
  || fail "the daemon stopped taking snapshots when its log pipe closed"
# ... but stops on what needs an operator: a garbage database (exit 1).
head -c 8192 /dev/urandom > "$T/garbage.db"
expect 1 timeout 10 "$BARROT" --db "$T/garbage.db" --dir "$T/garbage" daemon --interval 1s
contains "$T/err" "barrot daemon: error:"

echo "periodic: ok ($n daemon snapshots)"
