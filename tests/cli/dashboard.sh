# barrot dashboard, opened in headless Chromium: the DOM holds the sections
# and numbers expected, and hostile values render as text, never as
# elements. Saves screenshots (wide and phone) as test artefacts.
source "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  # scripts/test.sh installs it (scripts/deps.sh --test); only a hand-run
  # ctest without it may skip, and says so.
  echo "SKIP: no chromium (apt-get install chromium)" >&2
  exit 125
fi
ARTIFACTS=${BARROT_TEST_ARTIFACTS:-$T/artifacts}
mkdir -p "$ARTIFACTS"

browser() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --no-first-run --user-data-dir="$T/chromium" "$@" 2>>"$T/chromium.log"
}

XSS_SCRIPT='<script>document.title="pwned"</script>'
XSS_IMG='"><img src=x onerror=alert(1)>'
XSS_URL='javascript:alert(document.domain)'

# A periodic snapshot whose manifest values, rail names and sections carry
# the payloads, imported as a legacy file.
mkdir legacy
e=$(($(date +%s) - 600))
ts=$(date -u -d "@$e" +%Y-%m-%dT%H:%M:%S.000000Z)
id=periodic_$(date -u -d "@$e" +%Y%m%d_%H%M%S)
jq -n --arg id "$id" --arg ts "$ts" --arg s "$XSS_SCRIPT" --arg i "$XSS_IMG" --arg u "$XSS_URL" '{
  snapshot_id: $id, snapshot_type: "periodic", timestamp: $ts, interval: "30_minutes",
  system_state: {timestamp: $ts, uptime: "active", health: "operational"},
  build_state: {build_signature: $s, modules: [$i, "core"], provenance_hash: $u},
  rail_status: {($s): "active", deployment: $i, docs: $u},
  active_processes: {count: 1, processes: [{pid: 1, name: $i, state: "S"}]},
  workflows: {($i): {schedule: $s}},
  cognitive_state: {protocols: ["Cross Reliance", $s], status: "active"},
  task_progress: {($u): 3},
  metadata: {generated_by: "BarrotSnapshotGenerator", version: "1.0.0"}}' > "legacy/$id.json"
expect 0 "$BARROT" import legacy

# Actions: 12 completed, 3 failed, 2 executing; hostile types and details.
for i in $(seq 12); do "$BARROT" action deploy "{\"n\":$i,\"duration_seconds\":1.5}" --status completed -q >/dev/null; done
for i in 1 2; do "$BARROT" action deploy '{}' --status failed -q >/dev/null; done
"$BARROT" action "$XSS_SCRIPT" "$(jq -nc --arg i "$XSS_IMG" --arg u "$XSS_URL" '{x: $i, link: $u}')" \
  --status failed -q >/dev/null
"$BARROT" action "$XSS_IMG" '{}' --status executing -q >/dev/null
"$BARROT" start build '{}' -q >/dev/null

expect 0 "$BARROT" dashboard -o "$T/dashboard.html"
contains "$T/out" "Dashboard written to $T/dashboard.html"
# --at takes the time forms of search: a plain date, a time ago.
expect 0 "$BARROT" dashboard --at "$(date -u +%F)" -o "$T/dated.html"
expect 0 "$BARROT" dashboard --at '1h ago' -o "$T/dated.html"
expect 2 "$BARROT" dashboard --at 'whenever' -o "$T/dated.html"
contains "$T/err" "unknown time 'whenever'"
size=$(stat -c %s "$T/dashboard.html")
[ "$size" -lt 200000 ] || fail "dashboard is $size bytes"
# Self-contained: nothing fetched from anywhere.
if grep -Eqi '<[^>]*(src|href)=|@import|url\(' "$T/dashboard.html"; then
  fail "the page refers to an outside resource"
fi

browser --dump-dom "file://$T/dashboard.html" > "$T/dom.html"
[ -s "$T/dom.html" ] || { cat "$T/chromium.log" >&2; fail "chromium produced no DOM"; }
for section in health totals chart-hourly chart-failures chart-gaps latest-periodic recent-actions; do
  contains "$T/dom.html" "id=\"$section\""
done
contains "$T/dom.html" 'data-count="actions">17<'
contains "$T/dom.html" 'data-count="completed">12<'
contains "$T/dom.html" 'data-count="failed">3<'
contains "$T/dom.html" 'data-count="executing">2<'
contains "$T/dom.html" 'data-count="periodic">1<'
contains "$T/dom.html" 'id="chart-hourly" data-total="17"'
contains "$T/dom.html" '<title>Barrot dashboard</title>' # a payload's script would retitle it
contains "$T/dom.html" '1.50 s'
# The verdict: the actions failed 3 of 15, a WARNING with its reason
# (CRITICAL should this machine's disk be nearly full).
grep -Eq 'data-state="(WARNING|CRITICAL)"' "$T/dom.html" || fail "the verdict"
contains "$T/dom.html" '3 of 15 actions failed'
for section in system_state build_state rail_status active_processes workflows cognitive_state task_progress; do
  contains "$T/dom.html" "data-section=\"$section\""
done

# The payloads are there, as text.
contains "$T/dom.html" '&lt;script&gt;document.title="pwned"&lt;/script&gt;'
contains "$T/dom.html" '"&gt;&lt;img src=x onerror=alert(1)&gt;'
contains "$T/dom.html" 'javascript:alert(document.domain)'
# ...and produced no element, script or link.
for tag in '<script' '<img' '<iframe' '<a ' '<object' '<embed' '<svg onload'; do
  if grep -qiF -- "$tag" "$T/dom.html"; then
    grep -oiF -- "$tag" "$T/dom.html" | head -3 >&2
    fail "the DOM holds a $tag element"
  fi
done
if grep -qiE '<[^>]* on[a-z]+=' "$T/dom.html"; then fail "the DOM holds an event handler attribute"; fi
if grep -qiE '<[^>]*(href|src)=' "$T/dom.html"; then fail "the DOM holds a link or source"; fi

# Screenshots: a wide screen and a phone.
browser --screenshot="$ARTIFACTS/dashboard.png" --window-size=1366,2200 "file://$T/dashboard.html" >/dev/null
browser --screenshot="$ARTIFACTS/dashboard-phone.png" --window-size=390,2400 "file://$T/dashboard.html" >/dev/null
[ -s "$ARTIFACTS/dashboard.png" ] && [ -s "$ARTIFACTS/dashboard-phone.png" ] || fail "no screenshot"

# To standard output; options checked.
expect 0 "$BARROT" dashboard -o - --actions 3 --window 2d
[ "$(grep -o '<tr class="action">' "$T/out" | wc -l)" = 3 ] || fail "--actions 3"
expect 0 "$BARROT" dashboard -o - --actions 0
contains "$T/out" "None asked for (--actions 0)." # not "no action recorded yet"
expect 2 "$BARROT" dashboard --actions many
expect 2 "$BARROT" dashboard --window 5y
expect 2 "$BARROT" dashboard -o /nonexistent-dir/d.html
# Never over the store's own files: refused, nothing written.
S=$BARROT_SNAPSHOTS_DIR
md5sum "$S/.barrot/barrot.db" "$S/action_log.jsonl" "$S/latest_periodic.json" > "$T/sums"
id=$("$BARROT" search --limit 1 -o ids)
for f in .barrot/barrot.db .barrot/barrot.db-wal .barrot/report.html action_log.jsonl \
  latest_periodic.json "$id.json" .hidden; do
  expect 2 "$BARROT" dashboard -o "$S/$f"
  contains "$T/err" "cannot write to $S/$f: "
  expect 2 "$BARROT" chain-head -o "$S/$f"
  expect 3 "$BARROT" health --quick --no-record -o "$S/$f"
done
md5sum -c --quiet "$T/sums" || fail "a refused -o changed the store's files"
[ ! -e "$S/.barrot/report.html" ] && [ ! -e "$S/.hidden" ] || fail "a refused -o wrote a file"
expect 0 "$BARROT" verify
expect 2 "$BARROT" dashboard -o "$S/"
contains "$T/err" "not a file name: '$S/'"
# A database kept elsewhere: its -journal, which a WAL store never has, by name.
"$BARROT" --db "$T/own.db" --dir "$T/own" action x -q > /dev/null
expect 2 "$BARROT" --db "$T/own.db" --dir "$T/own" dashboard -o "$T/own.db-journal"
contains "$T/err" "it is the store's own own.db-journal"
[ ! -e "$T/own.db-journal" ] || fail "a report was written as the database's journal"
expect 0 "$BARROT" chain-head -o "$S/chain_head.json" # beside the mirror: fine
rm "$S/chain_head.json"
# An empty store still renders; no store is an error.
expect 0 "$BARROT" --dir empty-store action first '{}' -q
expect 0 "$BARROT" --dir empty-store dashboard -o "$T/empty.html"
expect 1 "$BARROT" --dir no-store dashboard -o "$T/none.html"
[ ! -e "$T/none.html" ] || fail "a failed dashboard left a file"
echo "dashboard: ok (screenshots in $ARTIFACTS)"
