# barrot health from the command line: plugin exit codes, outputs, alerts
# sent once per change to a real command, and errors as UNKNOWN.
source "$(dirname "$0")/lib.sh"

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# No store: UNKNOWN, and none is created.
expect 3 "$BARROT" health
contains "$T/out" "BARROT UNKNOWN - no barrot store"
[ ! -e "$BARROT_SNAPSHOTS_DIR" ] || fail "health created a store"

"$BARROT" periodic -q >/dev/null
"$BARROT" action deploy '{"env":"prod"}' --status completed -q >/dev/null
"$BARROT" action build '{}' --status completed -q >/dev/null
expect 0 "$BARROT" health
contains "$T/out" "BARROT OK - all 9 checks pass"
[ "$(wc -l < "$T/out")" = 10 ] || fail "one line per check expected"

# Time moves on (--at): WARNING past 35 minutes, CRITICAL past 90, and
# configurable thresholds. --interval 4h keeps generation_rate out of it.
expect 1 "$BARROT" health --no-record --interval 4h --at "$(at '+40 min')"
contains "$T/out" "BARROT WARNING - periodic_gap: last periodic snapshot 40 min ago"
expect 2 "$BARROT" health --no-record --interval 4h --at "$(at '+2 hours')"
contains "$T/out" "BARROT CRITICAL - periodic_gap"
expect 0 "$BARROT" health --no-record --interval 4h --at "$(at '+2 hours')" \
  --periodic-warning 3h --periodic-critical 4h
[ "$("$BARROT" search --action alert --count)" = 0 ] || fail "--no-record recorded an alert"

# JSON and Prometheus; -o writes atomically and keeps the exit code.
expect 1 "$BARROT" --json health --no-record --interval 4h --at "$(at '+40 min')"
jq -e '.state == "WARNING" and .exit_code == 1 and (.checks | length) == 9
  and (.checks[] | select(.name == "periodic_gap") | .metrics.age_seconds) >= 2390' \
  "$T/out" >/dev/null || fail "health --json"
expect 3 "$BARROT" health --no-record --format prometheus -o metrics/barrot.prom
contains "$T/err" "output directory"
mkdir -p metrics
expect 1 "$BARROT" health --no-record --format prometheus -o metrics/barrot.prom \
  --interval 4h --at "$(at '+40 min')"
[ ! -s "$T/out" ] || fail "-o also printed the report"
contains metrics/barrot.prom 'barrot_health_check_state{check="periodic_gap"} 1'
contains metrics/barrot.prom '# TYPE barrot_health_state gauge'
[ "$(ls -A metrics)" = barrot.prom ] || fail "a temporary file was left in metrics/"

# Alerts: a command runs once per state change, with the alert as JSON.
cat > alert.sh <<'EOF'
#!/bin/sh
cat >> alerts.jsonl.tmp
printf '%s %s %s\n' "$BARROT_ALERT_CHECK" "$BARROT_ALERT_FROM" "$BARROT_ALERT_TO" >> alerts.txt
EOF
chmod +x alert.sh
expect 1 "$BARROT" health --interval 4h --at "$(at '+40 min')" --alert-cmd ./alert.sh
[ "$(cat alerts.txt)" = "periodic_gap OK WARNING" ] || fail "first alert: $(cat alerts.txt)"
jq -s -e '.[0].check == "periodic_gap" and .[0].to == "WARNING" and (.[0].snapshot_id | startswith("action_"))
  and .[0].summary == "last periodic snapshot 40 min ago (warning past 35 min)"' alerts.jsonl.tmp \
  >/dev/null || fail "alert JSON: $(cat alerts.jsonl.tmp)"
expect 1 "$BARROT" health --interval 4h --at "$(at '+41 min')" --alert-cmd ./alert.sh
[ "$(wc -l < alerts.txt)" = 1 ] || fail "an unchanged state alerted again"
expect 2 "$BARROT" health --interval 4h --at "$(at '+2 hours')" --alert-cmd ./alert.sh
[ "$(tail -n 1 alerts.txt)" = "periodic_gap WARNING CRITICAL" ] || fail "escalation not alerted"
expect 0 "$BARROT" health --interval 4h --alert-cmd ./alert.sh
[ "$(tail -n 1 alerts.txt)" = "periodic_gap CRITICAL OK" ] || fail "recovery not alerted"
[ "$(wc -l < alerts.txt)" = 3 ] || fail "expected 3 alerts"
# Each change is an alert action: started, then completed once delivered.
[ "$("$BARROT" search --action alert --status executing --count)" = 3 ] || fail "alert starts"
[ "$("$BARROT" search --action alert --status completed --count)" = 3 ] || fail "alert ends"
expect 0 "$BARROT" verify

# A failing alert command: warned, recorded as a failed alert, state unchanged.
expect 1 "$BARROT" health --interval 4h --at "$(at '+40 min')" --alert-cmd 'echo oops >&2; exit 4'
contains "$T/err" "not delivered: the alert command exited with status 4"
contains "$T/err" "oops"
[ "$("$BARROT" search --action alert --status failed --count)" = 1 ] || fail "failed delivery"

# Bad input: UNKNOWN (3), as monitoring plugins do, with the reason.
expect 3 "$BARROT" health --periodic-warning soon
contains "$T/err" "--periodic-warning"
expect 3 "$BARROT" health --error-warning 150%
contains "$T/err" "share"
expect 3 "$BARROT" health --periodic-warning 2h --periodic-critical 1h
expect 3 "$BARROT" health --format xml
expect 3 "$BARROT" health --no-such-option
expect 3 "$BARROT" health --no-record --alert-cmd ./alert.sh
expect 3 "$BARROT" health --at yesterday-ish
expect 3 "$BARROT" health -o /nonexistent-dir/x.prom

# A read-only store still gets checked; the alerts are not recorded.
chmod -R a-w "$BARROT_SNAPSHOTS_DIR"
if [ "$(id -u)" != 0 ]; then
  expect 1 "$BARROT" health --quick --interval 4h --at "$(at '+40 min')"
  contains "$T/err" "alerts not recorded"
fi
chmod -R u+w "$BARROT_SNAPSHOTS_DIR"

# The mirror check sees a deleted file; repair clears it.
rm "$BARROT_SNAPSHOTS_DIR/$("$BARROT" search --action deploy -o ids | head -n 1).json"
expect 1 "$BARROT" health --no-record
contains "$T/out" "1 missing_file"
"$BARROT" repair >/dev/null
expect 0 "$BARROT" health --no-record
echo "health: ok"
