# The main commands on a fresh store, text and JSON output.
source "$(dirname "$0")/lib.sh"

expect 0 "$BARROT" --help
contains "$T/out" "Commands:"
expect 2 "$BARROT"
expect 0 "$BARROT" --version
contains "$T/out" "barrot "
expect 0 "$BARROT" --json --version
jq -e '.program == "barrot" and (.schema | type) == "number" and (.version | type) == "string"' \
  "$T/out" >/dev/null || fail "--json --version: $(cat "$T/out")"
for cmd in action track start complete fail periodic daemon latest actions all view diff sql search tail summary verify repair mirror import; do
  expect 0 "$BARROT" "$cmd" --help
  contains "$T/out" "barrot $cmd"
  contains "$T/out" "--dir"
done
expect 0 "$BARROT" search --help
contains "$T/out" "--since"
expect 0 "$BARROT" periodic --help
contains "$T/out" "--manifest"

expect 0 "$BARROT" periodic
contains "$T/out" "Generated periodic snapshot: periodic_"
expect 0 "$BARROT" action deployment '{"environment":"production","version":"1.0.0"}' --status completed
contains "$T/out" "Generated action snapshot: action_"
contains "$T/out" '"environment": "production"'
id=$(head -1 "$T/out" | awk '{print $4}')
[ -f "snapshots/$id.json" ] || fail "no file for $id"
jq -e '.action.status == "completed"' "snapshots/$id.json" >/dev/null || fail "status not recorded"

expect 0 "$BARROT" start migrate '{"db":"main"}' -q
start=$(cat "$T/out")
[[ $start =~ ^action_[0-9]{8}_[0-9]{6}_[0-9]{6}$ ]] || fail "quiet output '$start'"
expect 0 "$BARROT" complete migrate --start "$start" -q
done_id=$(cat "$T/out")
jq -e --arg s "$start" '.action.start_snapshot_id == $s and .action.status == "completed"
  and (.action.details.duration_seconds >= 0)' "snapshots/$done_id.json" >/dev/null \
  || fail "completion not linked to its start"
expect 0 "$BARROT" fail deploy "disk full" '{"env":"prod"}'
contains "$T/out" "Tracked action deploy: action_"
expect 0 "$BARROT" track build '{"x":1}'
contains "$T/out" "Tracked action build: action_"

[ "$(count total)" = 6 ] || fail "total $(count total)"
[ "$(count actions)" = 5 ] || fail "actions"
[ "$("$BARROT" summary --json | jq -r '.actions_by_status.failed')" = 1 ] || fail "failed count"
[ "$(wc -l < snapshots/action_log.jsonl)" = 5 ] || fail "log lines"
jq -e . snapshots/action_log.jsonl >/dev/null || fail "log lines are not JSON"

expect 0 "$BARROT" actions 2
[ "$(wc -l < "$T/out")" = 2 ] || fail "actions 2 printed $(wc -l < "$T/out") lines"
contains "$T/out" "build"
expect 0 "$BARROT" --json actions 3
[ "$(jq length "$T/out")" = 3 ] || fail "actions --json"
expect 0 "$BARROT" all
[ "$(wc -l < "$T/out")" = 6 ] || fail "all"
expect 0 "$BARROT" view "$id"
contains "$T/out" "deployment"
expect 0 "$BARROT" view "$id" --json
cmp <(jq -S . "$T/out") <(jq -S 'del(.metadata.chain)' "snapshots/$id.json") \
  || fail "view --json differs from the file (less its chain record)"
expect 0 "$BARROT" latest
contains "$T/out" "[system_state]"
cmp <(jq -S 'del(.metadata.chain)' snapshots/latest_periodic.json) \
  <("$BARROT" latest --json | jq -S .) || fail "latest_periodic.json differs from latest"
expect 0 "$BARROT" verify
contains "$T/out" "clean"

# search: filters and formats; jsonl lines are exactly the log's lines, less
# their chain records.
expect 0 "$BARROT" search --status failed -o ids
[ "$(wc -l < "$T/out")" = 1 ] || fail "search --status"
expect 0 "$BARROT" search --action 'dep*' --since 1h -o jsonl
[ -s "$T/out" ] || fail "search found no deploy action"
unchain < snapshots/action_log.jsonl > "$T/log.unchained"
while IFS= read -r line; do
  grep -qxF -- "$line" "$T/log.unchained" || fail "search jsonl line is not a log line: $line"
done < "$T/out"
expect 0 "$BARROT" search disk --count
[ "$(cat "$T/out")" = 1 ] || fail "search words"
expect 0 "$BARROT" search --type periodic --json
[ "$(jq length "$T/out")" = 1 ] || fail "search --type"
expect 0 "$BARROT" search --reverse --limit 1 -o csv
contains "$T/out" "snapshot_id,timestamp,snapshot_type"
expect 2 "$BARROT" search --since "next week"
contains "$T/err" "unknown time 'next week'"
expect 2 "$BARROT" search --since 1d --until 2d
contains "$T/err" "is after --until ("
expect 2 "$BARROT" search --status done
expect 2 "$BARROT" search --limit 0
expect 2 "$BARROT" search -o yaml

# Read-only SQL in every output format; writes refused.
expect 0 "$BARROT" sql "SELECT status, count(*) AS n FROM actions GROUP BY status ORDER BY status" -o csv
[ "$(tr -d '\r' < "$T/out")" = "$(printf 'status,n\ncompleted,2\nexecuting,2\nfailed,1')" ] \
  || { cat "$T/out"; fail "sql csv"; }
expect 0 "$BARROT" sql "SELECT action_type FROM actions ORDER BY seq" --json
[ "$(jq length "$T/out")" = 5 ] || fail "sql json"
expect 0 "$BARROT" sql "SELECT count(*) AS n FROM snapshots"
contains "$T/out" "(1 row)"
expect 2 "$BARROT" sql "DELETE FROM snapshot_rows"
contains "$T/err" "read-only"
[ "$(count total)" = 6 ] || fail "sql wrote"

# Global options before or after the command, and the environment variable.
expect 0 "$BARROT" --dir "$T/other" action x
expect 0 "$BARROT" action y --dir "$T/other"
[ "$(ls "$T/other" | grep -c '^action_.*\.json$')" = 2 ] || fail "--dir not honoured"
expect 0 "$BARROT" --sync full action durable
expect 0 "$BARROT" --db "$T/separate.db" --dir "$T/third" action z
[ -f "$T/separate.db" ] || fail "--db not honoured"

# --where: typed, nested, repeatable; commas are part of the value.
expect 0 "$BARROT" action release '{"env":"production","dur":42.5,"build":{"version":"1.2"},"msg":"a, b"}' --status completed
expect 0 "$BARROT" action release '{"env":"staging","dur":3,"build":{"version":1.2}}' --status completed
expect 0 "$BARROT" search --action release --where env=production -o ids
[ "$(wc -l < "$T/out")" = 1 ] || fail "--where env=production"
expect 0 "$BARROT" search --action release --where 'dur>10' --count
[ "$(cat "$T/out")" = 1 ] || fail "--where dur>10"
expect 0 "$BARROT" search --action release --where build.version=1.2 --count
[ "$(cat "$T/out")" = 2 ] || fail "--where nested, string and number"
expect 0 "$BARROT" search --action release --where 'dur<100' --where env!=production --count
[ "$(cat "$T/out")" = 1 ] || fail "--where repeated"
expect 0 "$BARROT" search --where 'msg=a, b' --count
[ "$(cat "$T/out")" = 1 ] || fail "--where with a comma"
# --after: page by page, the last id of one page starts the next.
expect 0 "$BARROT" search --limit 1000 -o ids
cp "$T/out" "$T/all_ids"
: > "$T/paged"
after=()
while :; do
  expect 0 "$BARROT" search --limit 2 -o ids "${after[@]}"
  [ -s "$T/out" ] || break
  cat "$T/out" >> "$T/paged"
  after=(--after "$(tail -1 "$T/out")")
done
cmp -s "$T/paged" "$T/all_ids" || fail "paging with --after differs from one page"
expect 2 "$BARROT" search --after ../etc
expect 1 "$BARROT" search --after action_20990101_000000_000000
contains "$T/err" "no snapshot action_20990101_000000_000000"
expect 2 "$BARROT" search --where '=x'
contains "$T/err" "bad --where condition '=x'"
expect 2 "$BARROT" search --where 'a"b=1'
# Readable output: a plain line each into a pipe; on a terminal (script(1)
# gives one) an aligned table with a header and a count on stderr.
expect 0 "$BARROT" search --limit 2
[ "$(wc -l < "$T/out")" = 2 ] || fail "plain search output is not one line each"
grep -q "^time\|snapshot  *action" "$T/out" && fail "a header when stdout is not a terminal"
[ ! -s "$T/err" ] || fail "a footer when stdout is not a terminal"
script -qec "$BARROT search --limit 2" "$T/tty" >/dev/null
tr -d '\r' < "$T/tty" > "$T/tty.txt"
grep -q "^ *time  *snapshot  *action  *status  *details" "$T/tty.txt" || { cat -v "$T/tty"; fail "no table header on a terminal"; }
contains "$T/tty.txt" "(2 rows)"
contains "$T/tty.txt" "(the limit; for more: --after "
last=$(grep -o "after [a-z0-9_]*" "$T/tty.txt" | cut -d' ' -f2)
expect 0 "$BARROT" search --limit 2 -o ids
[ "$(tail -1 "$T/out")" = "$last" ] || fail "the table's --after hint is not the last row"
# No hint when the limit takes the last row: there is no next page.
total=$("$BARROT" search --count)
script -qec "$BARROT search --limit $total" "$T/tty" >/dev/null
tr -d '\r' < "$T/tty" > "$T/tty.txt"
contains "$T/tty.txt" "($total rows)"
grep -q "for more" "$T/tty.txt" && fail "a next page offered when there is none"
# Into a pipe, details come whole (the table on a terminal cuts them at 80).
long=$(printf 'x%.0s' {1..120})
expect 0 "$BARROT" action longdetails "{\"summary\":\"$long tail\"}" -q
expect 0 "$BARROT" search --action longdetails
contains "$T/out" "$long tail\"}"
expect 0 "$BARROT" tail -n 1
contains "$T/out" "$long tail\"}"
echo "basics: ok"
