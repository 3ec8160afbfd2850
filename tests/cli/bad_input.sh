# Bad input: a clear message, exit 2 (1 for runtime failures), and nothing written.
source "$(dirname "$0")/lib.sh"

expect 0 "$BARROT" action seed
before=$(listing | sort | md5sum)
log_before=$(md5sum < snapshots/action_log.jsonl)

unchanged() {
  [ "$(listing | sort | md5sum)" = "$before" ] || fail "files changed after: $*"
  [ "$(md5sum < snapshots/action_log.jsonl)" = "$log_before" ] || fail "log changed after: $*"
  [ "$(count total)" = 1 ] || fail "database changed after: $*"
}

expect 2 "$BARROT" action deploy '{"env": prod}'
contains "$T/err" "barrot: error: details are not valid JSON"
unchanged invalid json
expect 2 "$BARROT" action deploy '[1,2]'
contains "$T/err" "details must be a JSON object, not array"
expect 2 "$BARROT" action deploy '{"size": 1e999}'
contains "$T/err" "barrot: error: details are not valid JSON: number overflow"
expect 2 "$BARROT" action deploy '"text"'
expect 2 "$BARROT" track deploy '{"env": "prod", "env": "staging"}'
contains "$T/err" 'barrot: error: details name the key "env" twice in one object'
expect 2 "$BARROT" action ''
contains "$T/err" "action type is empty"
expect 2 "$BARROT" action $'dep\nloy'
contains "$T/err" "control character"
expect 2 "$BARROT" action "$(printf 'a%.0s' {1..200})"
contains "$T/err" "at most 128"
expect 2 "$BARROT" action deploy --status done
contains "$T/err" "unknown status 'done'"
expect 2 "$BARROT" fail deploy
contains "$T/err" "missing ERROR"
expect 2 "$BARROT" fail deploy "disk full" '{"error": "quota"}'
contains "$T/err" 'the details hold an "error" already: ERROR sets it; give the error once' 
expect 2 "$BARROT" complete deploy --start ../../etc/passwd
contains "$T/err" "not a snapshot id"
expect 2 "$BARROT" complete deploy --start action_20200101_000000_000000
contains "$T/err" "no snapshot action_20200101_000000_000000"
unchanged bad actions

expect 2 "$BARROT" view ../../etc/passwd
contains "$T/err" "not a snapshot id"
expect 2 "$BARROT" view /etc/passwd
expect 2 "$BARROT" view "action_20251222_023211_483890/../x"
expect 1 "$BARROT" view action_20200101_000000_000000
contains "$T/err" "no snapshot action_20200101_000000_000000"
expect 2 "$BARROT" actions 0
expect 2 "$BARROT" actions ten
contains "$T/err" "N must be a whole number greater than 0, not 'ten'"
expect 2 "$BARROT" actions -1 # cxxopts takes it for an option
contains "$T/err" "-1: a negative number where a count or an option goes"
# Every count is read the same way: digits only, in range.
for args in "actions ' 3'" "actions +3" "search --limit 0" "tail -n ' 1'" \
  "periodic --max-processes ' 5'" "periodic --max-processes 100001" "dashboard --actions 10001"; do
  eval "expect 2 \"\$BARROT\" $args"
  contains "$T/err" "must be a whole number"
done
expect 3 "$BARROT" health --min-types x # a monitoring plugin's UNKNOWN
contains "$T/err" "--min-types must be a whole number"

expect 2 "$BARROT" frobnicate
contains "$T/err" "unknown command 'frobnicate'"
expect 2 "$BARROT" action deploy --bogus
expect 2 "$BARROT" action deploy '{}' extra
contains "$T/err" "unexpected argument 'extra'"
expect 2 "$BARROT" --sync sometimes action deploy
contains "$T/err" "unknown sync mode"
for t in x -1 nan inf 86401 ' 5' ''; do
  expect 2 "$BARROT" --busy-timeout "$t" action deploy
  contains "$T/err" "--busy-timeout must be a number of seconds"
done
for t in x -1 86401 s; do
  BARROT_BUSY_TIMEOUT="$t" expect 2 "$BARROT" action deploy
  contains "$T/err" "BARROT_BUSY_TIMEOUT must be a number of seconds"
done
expect 0 "$BARROT" --busy-timeout 0.5 summary
expect 0 "$BARROT" --busy-timeout 5s summary
BARROT_SYNC=weird expect 2 "$BARROT" action deploy
expect 2 "$BARROT" mirror
expect 2 "$BARROT" import
unchanged usage errors

# An unusable snapshots directory.
echo x > "$T/afile"
expect 2 "$BARROT" --dir "$T/afile" action deploy
contains "$T/err" "afile"
expect 2 "$BARROT" --dir "$T/afile/sub" action deploy
[ "$(cat "$T/afile")" = x ] || fail "file clobbered"
# Not "no store" when the way to it is blocked: the reason, named.
expect 2 "$BARROT" --dir "$T/afile" summary
contains "$T/err" "cannot reach the database $T/afile/.barrot/barrot.db: Not a directory"

# A database file that is not SQLite, or newer than this binary.
head -c 8192 /dev/urandom > "$T/garbage.db"
cp "$T/garbage.db" "$T/garbage.copy"
expect 1 "$BARROT" --db "$T/garbage.db" --dir "$T/g" action deploy
contains "$T/err" "garbage.db"
cmp "$T/garbage.db" "$T/garbage.copy" || fail "garbage database was modified"
[ ! -e "$T/g" ] || fail "created the snapshots directory for a database it refused"

expect 0 "$BARROT" --dir "$T/new" action deploy
db="$T/new/.barrot/barrot.db"
"$BARROT" --dir "$T/new" summary >/dev/null
python_free_bump() { printf 'PRAGMA user_version = 99;\n' | sqlite3 "$db"; }
if command -v sqlite3 >/dev/null; then
  python_free_bump
  expect 1 "$BARROT" --dir "$T/new" action deploy
  contains "$T/err" "newer than this barrot understands"
  expect 1 "$BARROT" --dir "$T/new" summary
fi

# Reading a store that does not exist.
expect 1 "$BARROT" --dir "$T/nowhere" summary
contains "$T/err" "no barrot store"
[ ! -e "$T/nowhere" ] || fail "a read created the directory"
# An empty database file (a 0-byte file is an empty SQLite database) reads the same.
mkdir -p "$T/empty/.barrot" && : > "$T/empty/.barrot/barrot.db"
expect 1 "$BARROT" --dir "$T/empty" summary
contains "$T/err" "no barrot store at $T/empty/.barrot/barrot.db (the file is empty"
[ ! -s "$T/empty/.barrot/barrot.db" ] || fail "a read wrote to an empty database"
# Bad input to a write creates no store either.
expect 2 "$BARROT" --dir "$T/nowhere" complete deploy --start action_20200101_000000_000000
contains "$T/err" "--start: no barrot store"
expect 2 "$BARROT" --dir "$T/nowhere" import "$T/no-such-legacy-dir"
contains "$T/err" "import: $T/no-such-legacy-dir: No such file or directory"
[ ! -e "$T/nowhere" ] || fail "bad input to a write created a store"

# --start pairs an end with a start of the same type that has not ended.
pair() { "$BARROT" --dir "$T/pairs" "$@"; }
started=$(pair start backup -q)
expect 0 pair complete backup --start "$started" -q
expect 2 pair complete backup --start "$started"
contains "$T/err" "--start: $started already ended"
ended=$(pair action backup --status completed -q)
expect 2 pair fail backup "disk full" --start "$ended"
contains "$T/err" "is not the start of an action (it is completed)"
other=$(pair start deployment -q)
expect 2 pair complete backup --start "$other"
contains "$T/err" "started a 'deployment' action, not 'backup'"
# An ERROR with a leading dash goes after --, options before it (docs/cli.md).
expect 0 pair fail --start "$other" -q deployment -- "-1 returned"
[ "$(pair view "$(cat "$T/out")" --json | jq -r .action.details.error)" = "-1 returned" ] \
  || fail "the error with a leading dash was not recorded"
# What an error message quotes from the input reaches the terminal with its
# control characters made visible: C0 as \xHH, C1 as \u00HH.
printf 'a\033]0;pwned\007b: 1\nc\302\233d: 2\n' > "$T/esc.yaml"
expect 2 "$BARROT" periodic --config "$T/esc.yaml"
contains "$T/err" 'a\x1b]0;pwned\x07b'
if LC_ALL=C grep -q $'[\001-\010\013-\037\177]' "$T/err"; then fail "a raw control character reached stderr"; fi
printf 'c\302\233d: 2\n' > "$T/esc.yaml"
expect 2 "$BARROT" periodic --config "$T/esc.yaml"
contains "$T/err" 'c\u009bd'
# On a terminal (a pty, through script(1)) no stored control character is
# written raw, in any rendering: a C1 CSI (U+009B) in details, JSON output
# included. To a pipe the bytes stay as stored.
id=$("$BARROT" action c1 "{\"m\":\"a$(printf '\302\233')2Jb\"}" -q)
for args in "view $id" "--json view $id" "search c1" "tail -n 1 -o jsonl" "search c1 -o csv"; do
  script -qec "$BARROT $args" /dev/null > "$T/tty" </dev/null || fail "script $args"
  if LC_ALL=C grep -q $'\302\233' "$T/tty"; then fail "'$args' wrote a raw C1 control to a terminal"; fi
  contains "$T/tty" 'u009b'
  if grep -q 'x0d' "$T/tty"; then fail "'$args': a CSV line end was escaped"; fi
done
"$BARROT" --json view "$id" | LC_ALL=C grep -q $'\302\233' || fail "a pipe did not get the stored bytes"
echo "bad_input: ok"
