# Hand damage to the mirror: verify names each problem, repair fixes it from the database.
source "$(dirname "$0")/lib.sh"

for i in 1 2 3 4 5; do "$BARROT" action step "{\"i\":$i}" >/dev/null; done
"$BARROT" periodic >/dev/null
ids=($(ls snapshots | grep '^action_' | sed 's/\.json$//'))

rm "snapshots/${ids[0]}.json"
sed -i 's/"step"/"STEP"/' "snapshots/${ids[1]}.json"
truncate -s -30 snapshots/action_log.jsonl
echo '{"half' > snapshots/.latest_periodic.json.tmp

expect 1 "$BARROT" verify
contains "$T/out" "missing_file  ${ids[0]}.json"
contains "$T/out" "different_file  ${ids[1]}.json"
contains "$T/out" "torn_line  action_log.jsonl"
contains "$T/out" "temp_file  .latest_periodic.json.tmp"
expect 1 "$BARROT" verify --json
jq -e '.clean == false and (.problems | length) == 5' "$T/out" >/dev/null || { cat "$T/out"; fail "verify --json"; }

expect 0 "$BARROT" repair
contains "$T/out" "replaced content kept in"
expect 0 "$BARROT" verify
[ "$(wc -l < snapshots/action_log.jsonl)" = 5 ] || fail "log has $(wc -l < snapshots/action_log.jsonl) lines"
jq -e . snapshots/action_log.jsonl >/dev/null || fail "log not valid JSON lines"
[ -z "$(find snapshots -maxdepth 1 -name '.*.tmp')" ] || fail "temp file left"

expect 0 "$BARROT" mirror --rebuild
expect 0 "$BARROT" verify --chain

# The database itself damaged: replaced by garbage, then cut short. Each
# command names the file and the problem, exits 1, and touches no mirror
# file (repair never makes the damage worse).
db=snapshots/.barrot/barrot.db
# The database file alone holds every row only once the WAL is checkpointed
# into it (a short WAL is left as it is when a command closes).
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp "$db" "$T/good.db"
rm -f "$db-wal" "$db-shm"
mirror_sum() { find snapshots -maxdepth 1 -type f | sort | xargs cat | md5sum; }
before=$(mirror_sum)
head -c 65536 /dev/urandom > "$db"
for cmd in verify repair "verify --chain" "mirror --rebuild"; do
  expect 1 "$BARROT" $cmd
  contains "$T/err" "barrot.db"
  contains "$T/err" "not a database"
  [ "$(mirror_sum)" = "$before" ] || fail "'$cmd' on a garbage database changed the mirror"
done
expect 1 "$BARROT" action after_damage
[ "$(mirror_sum)" = "$before" ] || fail "a write to a garbage database changed the mirror"
head -c $(( $(stat -c %s "$T/good.db") / 2 )) "$T/good.db" > "$db"
for cmd in verify repair "verify --chain"; do
  expect 1 "$BARROT" $cmd
  grep -qE "malformed|corrupt|not a database" "$T/err" || { cat "$T/err"; fail "'$cmd' on a cut database: $(cat "$T/err")"; }
  [ "$(mirror_sum)" = "$before" ] || fail "'$cmd' on a cut database changed the mirror"
done
cp "$T/good.db" "$db"
expect 0 "$BARROT" verify --chain

# One store, one snapshots directory. The database named with --db and a
# second directory: refused (exit 2), naming both, and the directory is not
# created; a second database with this directory: refused, nothing changed.
expect 2 "$BARROT" --db "$db" --dir "$T/second" action split
contains "$T/err" "is the store of another snapshots directory"
contains "$T/err" "$T/second"
[ ! -e "$T/second" ] || fail "a refused directory was created"
expect 2 "$BARROT" --db "$T/other.db" action foreign
contains "$T/err" "there is no database at $T/other.db"
[ ! -e "$T/other.db" ] || fail "a refused open created a database"
expect 0 "$BARROT" --db "$T/other.db" --dir "$T/third" action elsewhere -q
expect 2 "$BARROT" --db "$T/other.db" action foreign
contains "$T/err" "is the mirror of another store"
[ "$(mirror_sum)" = "$before" ] || fail "a refused database changed the mirror"
# `mirror --rebuild` moves the mirror; the old directory is then refused.
expect 0 "$BARROT" --db "$db" --dir "$T/second" mirror --rebuild
expect 0 "$BARROT" --db "$db" --dir "$T/second" verify
[ "$(ls "$T/second" | grep -c '\.json$')" = "$(ls snapshots | grep -c '\.json$')" ] \
  || fail "the new mirror lacks files"
expect 2 "$BARROT" action to_the_old_one
contains "$T/err" "has since been bound to another directory"
expect 0 "$BARROT" mirror --rebuild
expect 0 "$BARROT" action back_home -q
# A lost database: a fresh one imports the directory in place and takes it over.
mv "$db" "$T/lost.db"
rm -f "$db-wal" "$db-shm"
expect 2 "$BARROT" action without_import
contains "$T/err" "barrot import"
[ ! -e "$db" ] || fail "a refused write created a database"
expect 0 "$BARROT" import snapshots
expect 0 "$BARROT" verify
"$BARROT" actions 100 | grep -q back_home || fail "the import lost a snapshot"
# A damaged mirror-id (a crash can leave it empty) is named; a rebuild binds
# the directory again.
: > snapshots/.barrot/mirror-id
expect 1 "$BARROT" action after_damage
contains "$T/err" "does not hold a store id and a mirror id"
expect 1 "$BARROT" verify
contains "$T/out" "not_the_mirror"
expect 0 "$BARROT" mirror --rebuild
expect 0 "$BARROT" action after_rebuild -q
expect 0 "$BARROT" verify
# `--since 2h ago` unquoted would search for the word "ago".
expect 2 "$BARROT" search --since 2h ago
contains "$T/err" "'ago' would be a search word here"
expect 0 "$BARROT" search ago --since 2h --count # the word, before the option
expect 0 "$BARROT" search --since "2h ago" --count
expect 2 "$BARROT" search --since 2025-01-01T00:00:00
contains "$T/err" "add Z for UTC"
echo "damage: ok"
