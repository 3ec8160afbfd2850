# Every query in docs/sql.md runs as written through `barrot sql` on a real store.
source "$(dirname "$0")/lib.sh"
docs="$DATA/../../docs/sql.md"
[ -f "$docs" ] || { echo "no $docs"; exit 125; }

"$BARROT" periodic -q >/dev/null
id=$("$BARROT" start deploy '{"env":"prod"}' -q)
"$BARROT" complete deploy '{"duration_seconds":2.5}' --start "$id" -q >/dev/null
"$BARROT" fail deploy "disk full" -q >/dev/null
"$BARROT" import "$DATA/legacy-snapshots" >/dev/null
"$BARROT" fail deploy "disk really full" -q >/dev/null

# Indented blocks that start with SELECT or WITH, up to the line ending in ';'
# (or the end of the block).
awk '
  !inq && /^    (SELECT|WITH)/ { q = ""; inq = 1 }
  inq && /^    / { sub(/^    /, ""); q = q $0 "\n"; if ($0 ~ /;$/) { print q > sprintf("'"$T"'/q%02d.sql", ++n); inq = 0 }; next }
  inq { if (q != "") print q > sprintf("'"$T"'/q%02d.sql", ++n); inq = 0 }
' "$docs"
count=$(ls "$T"/q*.sql | wc -l)
[ "$count" -ge 7 ] || fail "found only $count queries in docs/sql.md"
for f in "$T"/q*.sql; do
  expect 0 "$BARROT" sql "$(cat "$f")"
done
# The full-text example finds both "disk ... full" failures, indexed or not.
expect 0 "$BARROT" sql "$(cat "$(grep -l 'snapshots_fts MATCH' "$T"/q*.sql | head -1)")" -o csv
[ "$(tr -d '\r' < "$T/out" | tail -n +2 | wc -l)" = 2 ] || { cat "$T/out"; fail "full-text example"; }
echo "docs_sql: ok ($count queries)"
