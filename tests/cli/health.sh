# barrot health from the command line: plugin exit codes, outputs, alerts
# sent once per change to a real command, and errors as UNKNOWN.
source "$(dirname "$0")/lib.sh"

# Every run but the disk test's ignores free space: a nearly full disk on
# this machine must not change the other verdicts.
health() { "$BARROT" health --disk-warning 0% --disk-critical 0% "$@"; }
# The newest periodic snapshot's time plus an offset (date -d syntax).
after_periodic() {
  date -u -d "$("$BARROT" latest --json | jq -r .timestamp) $1" +%Y-%m-%dT%H:%M:%S.%6NZ
}

# No store: UNKNOWN, and none is created.
expect 3 health
contains "$T/out" "BARROT UNKNOWN - no barrot store"
[ ! -e "$BARROT_SNAPSHOTS_DIR" ] || fail "health created a store"

"$BARROT" periodic -q >/dev/null
"$BARROT" action deploy '{"env":"prod"}' --status completed -q >/dev/null
"$BARROT" action build '{}' --status completed -q >/dev/null
expect 0 health
contains "$T/out" "BARROT OK - all 10 checks pass"
[ "$(wc -l < "$T/out")" = 11 ] || fail "one line per check expected"
expect 0 health --quick
contains "$T/out" "BARROT OK - 8 checks pass, 2 skipped"
contains "$T/out" "  SKIPPED  integrity"

# As of a later time (--at, a replay: nothing recorded): WARNING past 35
# minutes, CRITICAL past 90, and configurable thresholds. --interval 4h
# keeps generation_rate out of it.
expect 1 health --interval 4h --at "$(after_periodic '+40 min')"
contains "$T/out" "BARROT WARNING - periodic_gap: last periodic snapshot 40 min ago (warning past 35 min)"
expect 2 health --interval 4h --at "$(after_periodic '+2 hours')"
contains "$T/out" "BARROT CRITICAL - periodic_gap: last periodic snapshot 2 h ago"
expect 0 health --interval 4h --at "$(after_periodic '+2 hours')" \
  --periodic-warning 3h --periodic-critical 4h
[ "$("$BARROT" search --action alert --count)" = 0 ] || fail "--at recorded an alert"

# JSON and Prometheus; -o writes atomically and keeps the exit code.
expect 1 "$BARROT" --json health --disk-warning 0% --disk-critical 0% --no-record --interval 4h --at "$(after_periodic '+40 min')"
jq -e '.state == "WARNING" and .exit_code == 1 and (.checks | length) == 10
  and (.checks[] | select(.name == "periodic_gap") | .metrics.age_seconds) == 2400' \
  "$T/out" >/dev/null || fail "health --json"
expect 3 health --no-record --format prometheus -o metrics/barrot.prom
contains "$T/err" "output directory"
mkdir -p metrics
expect 1 health --no-record --format prometheus -o metrics/barrot.prom \
  --interval 4h --at "$(after_periodic '+40 min')"
[ ! -s "$T/out" ] || fail "-o also printed the report"
contains metrics/barrot.prom 'barrot_health_check_state{check="periodic_gap"} 1'
contains metrics/barrot.prom '# TYPE barrot_health_state gauge'
[ "$(ls -A metrics)" = barrot.prom ] || fail "a temporary file was left in metrics/"

# Alerts: a command runs once per state change, with the alert as JSON.
# Real time passes; the thresholds move the state (a second is "late").
cat > alert.sh <<'EOF2'
#!/bin/sh
cat >> alerts.jsonl.tmp
printf '%s %s %s\n' "$BARROT_ALERT_CHECK" "$BARROT_ALERT_FROM" "$BARROT_ALERT_TO" >> alerts.txt
EOF2
chmod +x alert.sh
sleep 1.1
expect 1 health --interval 4h --periodic-warning 1s --periodic-critical 1h --alert-cmd ./alert.sh
[ "$(cat alerts.txt)" = "periodic_gap OK WARNING" ] || fail "first alert: $(cat alerts.txt)"
jq -s -e '.[0].check == "periodic_gap" and .[0].to == "WARNING" and (.[0].snapshot_id | startswith("action_"))
  and (.[0].summary | startswith("last periodic snapshot")) and .[0].metrics.age_seconds > 1' \
  alerts.jsonl.tmp >/dev/null || fail "alert JSON: $(cat alerts.jsonl.tmp)"
expect 1 health --interval 4h --periodic-warning 1s --periodic-critical 1h --alert-cmd ./alert.sh
[ "$(wc -l < alerts.txt)" = 1 ] || fail "an unchanged state alerted again"
sleep 1
expect 2 health --interval 4h --periodic-warning 1s --periodic-critical 2s --alert-cmd ./alert.sh
[ "$(tail -n 1 alerts.txt)" = "periodic_gap WARNING CRITICAL" ] || fail "escalation not alerted"
expect 0 health --interval 4h --alert-cmd ./alert.sh
[ "$(tail -n 1 alerts.txt)" = "periodic_gap CRITICAL OK" ] || fail "recovery not alerted"
[ "$(wc -l < alerts.txt)" = 3 ] || fail "expected 3 alerts"
# Each change is an alert action: started, then completed once delivered.
[ "$("$BARROT" search --action alert --status executing --count)" = 3 ] || fail "alert starts"
[ "$("$BARROT" search --action alert --status completed --count)" = 3 ] || fail "alert ends"
expect 0 "$BARROT" verify
# Quick runs skip the whole-store checks and never alert on them.
expect 0 health --quick --interval 4h --alert-cmd ./alert.sh
[ "$(wc -l < alerts.txt)" = 3 ] || fail "a quick run alerted"

# A failing alert command: warned, recorded as a failed alert, state changed.
expect 1 health --interval 4h --periodic-warning 1s --periodic-critical 1h \
  --alert-cmd 'echo oops >&2; printf "x\033]0;PWNED\007y\302\233z\n"; exit 4'
contains "$T/err" "not delivered: the alert command exited with status 4"
contains "$T/err" "oops"
# Its output is shown with its control characters made visible.
contains "$T/err" 'x\x1b]0;PWNED\x07y\u009bz'
if LC_ALL=C grep -q $'[\033\007]\|\302\233' "$T/err"; then fail "alert output reached stderr raw"; fi
[ "$("$BARROT" search --action alert --status failed --count)" = 1 ] || fail "failed delivery"
expect 1 health --interval 4h --periodic-warning 1s --periodic-critical 1h --alert-cmd ./alert.sh
[ "$(wc -l < alerts.txt)" = 3 ] || fail "the failed delivery's change was sent again"
# A command that writes without end neither hangs barrot nor fills memory:
# its output is cut at 64 KiB (its writes past that fail), and its timeout
# holds. Each run below changes the state, so each runs its command.
expect 2 timeout 20 "$BARROT" health --interval 4h --periodic-warning 1s --periodic-critical 1s \
  --alert-timeout 2s --alert-cmd 'while :; do echo more; done'
contains "$T/err" "did not finish within 2000 ms"
contains "$T/err" "[output cut at 64 KiB]"
[ "$(wc -c < "$T/err")" -lt 80000 ] || fail "alert output was not cut"
# A background job of the command may write after the command ended.
expect 1 health --interval 4h --periodic-warning 1s --periodic-critical 1h \
  --alert-cmd '(sleep 0.5; echo late; echo late >&2; touch bg.done) &'
for _ in $(seq 1 30); do [ -e bg.done ] && break; sleep 0.1; done
[ -e bg.done ] || fail "the alert command's background job died writing its output"
# SIGTERM while the alert command runs (a monitoring system's timeout): the
# command is killed, its alert's end recorded as failed; neither the command
# nor an executing alert is left behind.
failed_before=$("$BARROT" search --action alert --status failed --count)
rm -f alert.pid
"$BARROT" health --interval 4h --periodic-warning 1s --periodic-critical 1s \
  --alert-cmd 'echo $$ > alert.pid; exec sleep 31' > /dev/null 2> "$T/term.err" &
hp=$!
for _ in $(seq 1 100); do [ -s alert.pid ] && break; sleep 0.05; done
[ -s alert.pid ] || fail "the alert command did not start"
kill -TERM "$hp"
wait "$hp" || true
if kill -0 "$(cat alert.pid)" 2>/dev/null; then
  kill "$(cat alert.pid)"
  fail "the alert command outlived barrot health"
fi
contains "$T/term.err" "the alert command was killed: barrot was interrupted"
[ "$("$BARROT" search --action alert --status failed --count)" = $((failed_before + 1)) ] \
  || fail "the interrupted alert's end was not recorded"
expect 1 health --interval 4h --periodic-warning 1s --periodic-critical 1h # back to WARNING

# The alert command gets SIGXFSZ's default action (barrot catches the
# signal, and exec resets caught signals), but keeps it ignored when
# barrot's own caller ignores it.
xfsz_ignored() { [ $((0x$(awk '/^SigIgn/ {print $2}' "$1") & 0x1000000)) != 0 ]; }
expect 2 bash -c 'trap - XFSZ; exec "$1" health --disk-warning 0% --disk-critical 0% \
  --interval 4h --periodic-warning 1s --periodic-critical 2s \
  --alert-cmd "cat /proc/\$\$/status > status.default"' _ "$BARROT"
[ -s status.default ] || fail "the alert command did not run"
! xfsz_ignored status.default || fail "the alert command inherited SIGXFSZ ignored"
expect 0 bash -c 'trap "" XFSZ; exec "$1" health --disk-warning 0% --disk-critical 0% \
  --interval 4h --alert-cmd "cat /proc/\$\$/status > status.ignored"' _ "$BARROT"
[ -s status.ignored ] || fail "the alert command did not run"
xfsz_ignored status.ignored || fail "the alert command lost SIGXFSZ ignored from barrot's caller"

# The store held past the busy timeout (a repair, an import): the mirror
# check is skipped, not UNKNOWN (an alert, then its all-clear).
flock -x "$BARROT_SNAPSHOTS_DIR/.barrot/lock" sleep 2 &
locker=$!
sleep 0.3
"$BARROT" --busy-timeout 0.3 health --no-record --json > "$T/out" || true
wait "$locker"
jq -e '.checks[] | select(.name == "mirror_files") | .skipped and .state == "OK"' "$T/out" \
  >/dev/null || { cat "$T/out"; fail "the mirror check on a busy store"; }

# Output that cannot be written: UNKNOWN, whatever the checks found.
rc=0
health --interval 4h >/dev/full 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || fail "health >/dev/full exited $rc"
contains "$T/err" "cannot write standard output"

# Bad input: UNKNOWN (3), as monitoring plugins do, with the reason.
expect 3 health --periodic-warning soon
contains "$T/err" "--periodic-warning"
expect 3 health --error-warning 150%
contains "$T/err" "share"
expect 3 health --periodic-warning 2h
contains "$T/err" "give a longer --periodic-critical too"
expect 3 health --format xml
expect 3 health --no-such-option
expect 3 health --no-record --alert-cmd ./alert.sh
expect 3 health --at "$(after_periodic '+1 hour')" --alert-cmd ./alert.sh
expect 3 health --alert-cmd ./alert.sh --alert-timeout 2d
expect 3 health --at yesterday-ish
expect 3 health -o /nonexistent-dir/x.prom

# A read-only store still gets checked; the alerts are not recorded.
chmod -R a-w "$BARROT_SNAPSHOTS_DIR"
if [ "$(id -u)" != 0 ]; then
  expect 0 health --quick --interval 4h
  contains "$T/err" "alerts not recorded"
fi
chmod -R u+w "$BARROT_SNAPSHOTS_DIR"

# mirror_files sees a deleted file; repair clears it.
rm "$BARROT_SNAPSHOTS_DIR/$("$BARROT" search --action deploy -o ids | head -n 1).json"
expect 1 health --no-record
contains "$T/out" "BARROT WARNING - mirror_files: 1 disagreement(s) between the database and its files (1 missing_file)"
"$BARROT" repair >/dev/null
expect 0 health --no-record
# disk_space on a real small file system, when this machine lets us mount one.
mkdir small
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8m tmpfs small 2>/dev/null; then
  trap 'umount "$T/small" 2>/dev/null || true; cleanup' EXIT
  "$BARROT" --dir small/snapshots periodic -q >/dev/null
  expect 0 "$BARROT" --dir small/snapshots health --no-record --quick
  avail=$(df --output=avail -B1 small | tail -n 1)
  head -c $((avail - 200 * 1024)) /dev/zero > small/filler # leaves about 2.5% free
  expect 2 "$BARROT" --dir small/snapshots health --no-record --quick
  contains "$T/out" "BARROT CRITICAL - disk_space:"
  expect 1 "$BARROT" --dir small/snapshots health --no-record --quick --disk-critical 1%
  contains "$T/out" "BARROT WARNING - disk_space:"
  rm small/filler
  expect 0 "$BARROT" --dir small/snapshots health --no-record --quick
  umount small
else
  echo "disk_space on a full file system: skipped (cannot mount a tmpfs here)" >&2
fi
# Thresholds out of order: the message names both values, and the one to give.
expect 3 "$BARROT" health --no-record --error-warning 50%
contains "$T/err" "--error-warning (50%) is above --error-critical (25%, the default): critical means more errors than the warning share; give --error-critical too"
expect 3 "$BARROT" health --no-record --disk-warning 5% --disk-critical 10%
contains "$T/err" "--disk-critical (10%) is above --disk-warning (5%)"
echo "health: ok"
