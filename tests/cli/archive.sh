# barrot-archive end to end: run (dry and real), archives readable with stock
# zstd/jq/sha256sum, list, verify, restore, bad input, and writers running
# while a month is archived.
source "$(dirname "$0")/lib.sh"
[ -n "$ARCHIVE" ] || fail "no barrot-archive given"
A=snapshots/archive

mkdir legacy
{ gen_actions 2025 1 400; gen_actions 2025 2 300; gen_actions 2025 3 200; } > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
expect 0 "$BARROT" periodic
cp legacy/action_log.jsonl "$T/original.jsonl"

# A dry run names the months and moves nothing.
expect 0 "$ARCHIVE" run --dry-run --json
jq -e '.dry_run and ([.months[].month] == ["2025-01","2025-02","2025-03"])
  and ([.months[].actions] == [400,300,200])' "$T/out" >/dev/null || { cat "$T/out"; fail "dry run plan"; }
[ ! -e "$A" ] || fail "a dry run created the archive directory"
[ "$(count actions)" = 900 ] || fail "a dry run changed the store"
# ... and refuses what the run would: a directory that is not the store's mirror.
mkdir "$T/not_the_mirror"
expect 2 "$ARCHIVE" --dir "$T/not_the_mirror" --db snapshots/.barrot/barrot.db run --dry-run
contains "$T/err" "is the store of another snapshots directory"

# The run: three archives; the store, files and log keep only what is new.
expect 0 "$ARCHIVE" run --json
jq -e '(.months | length) == 3 and .snapshots == 900 and .db_bytes_freed > 0 and .unfinished == null' "$T/out" >/dev/null \
  || { cat "$T/out"; fail "run report"; }
[ "$(count actions)" = 0 ] || fail "archived actions still in the store"
[ "$(count periodic)" = 1 ] || fail "the periodic snapshot was archived"
[ ! -s snapshots/action_log.jsonl ] || fail "archived lines left in the log"
[ "$(find snapshots -maxdepth 1 -name 'action_*.json' | wc -l)" = 0 ] || fail "archived files left"
expect 0 "$BARROT" verify
expect 0 "$ARCHIVE" verify
# A snapshot of an archived month is not "missing": view says where it went.
expect 1 "$BARROT" view action_20250101_000000_000000
contains "$T/err" "no snapshot action_20250101_000000_000000 in the store; its month 2025-01 is archived"
expect 1 "$BARROT" view action_20250401_000000_000000
[ "$(cat "$T/err")" = "barrot: error: no snapshot action_20250401_000000_000000" ] || fail "view hint for a month not archived"

# Stock tools read the archives; the manifests' checksums are sha256sum's.
for m in 2025-01 2025-02 2025-03; do
  zstd -t -q "$A/$m.jsonl.zst" || fail "zstd -t $m"
  [ "$(zstdcat "$A/$m.jsonl.zst" | jq -c . | wc -l)" = "$(jq .snapshots "$A/$m.manifest.json")" ] \
    || fail "$m: line count differs from the manifest"
  [ "$(sha256sum < "$A/$m.jsonl.zst" | cut -d' ' -f1)" = "$(jq -r .archive.sha256 "$A/$m.manifest.json")" ] \
    || fail "$m: archive checksum"
  [ "$(zstdcat "$A/$m.jsonl.zst" | sha256sum | cut -d' ' -f1)" = "$(jq -r .content.sha256 "$A/$m.manifest.json")" ] \
    || fail "$m: content checksum"
done
# Every original snapshot, byte for byte (the legacy lines are compact
# already), with the chain record the store added.
zstdcat "$A"/*.jsonl.zst | unchain | sort > "$T/archived"
sort "$T/original.jsonl" > "$T/original.sorted"
cmp -s "$T/archived" "$T/original.sorted" || fail "archives differ from the imported snapshots"

expect 0 "$ARCHIVE" list --json
jq -e '[.[].month] == ["2025-01","2025-02","2025-03"] and .[0].snapshots == 400
  and .[0].state == "archived" and .[0].ratio > 2' "$T/out" >/dev/null || { cat "$T/out"; fail "list"; }
expect 0 "$ARCHIVE" list
contains "$T/out" "2025-02  archived  300"

# Search names the archived months it reaches, and searches them on request.
expect 0 "$BARROT" search --since 2025-01-01 --until 2025-04-01 --count
[ "$(cat "$T/out")" = 0 ] || fail "archived snapshots still found in the store"
contains "$T/err" "the search covers archived months (2025-01, 2025-02, 2025-03); add --archives"
# tail reads the live store only: when it finds fewer than asked, it says why.
expect 0 "$BARROT" tail --since 2025-01-01 --until 2025-04-01 -n 3
[ ! -s "$T/out" ] || fail "tail found archived snapshots in the store"
contains "$T/err" "archived months (2025-01, 2025-02, 2025-03) are not read by tail"
expect 0 "$BARROT" search --since 2025-01-01 --until 2025-04-01 --count --archives
[ "$(cat "$T/out")" = 900 ] || fail "--archives counted $(cat "$T/out"), not 900"
expect 0 "$BARROT" search --since 2025-02-01 --until 2025-03-01 --action deploy --archives -o ids --limit 1000
[ "$(wc -l < "$T/out")" = 60 ] || fail "--archives with filters found $(wc -l < "$T/out"), not 60"
grep -c '"type":"deploy"' <(zstdcat "$A/2025-02.jsonl.zst") | grep -qx 60 || fail "reference count"
expect 0 "$BARROT" search --since 2025-03-01 --archives -o jsonl --limit 3 --reverse
[ "$(head -1 "$T/out")" = "$(zstdcat "$A/2025-03.jsonl.zst" | head -1 | unchain)" ] \
  || fail "--archives order"
expect 0 "$BARROT" search --since 2025-06-01 --count
[ ! -s "$T/err" ] || fail "a note for a range with no archived month"

# A progress line on a terminal (script(1) gives the run one), none otherwise.
{ gen_actions 2025 6 2000; } > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
script -qec "$ARCHIVE run --month 2025-06" "$T/tty" >/dev/null
grep -q "ETA" "$T/tty" || { cat -v "$T/tty"; fail "no progress line on a terminal"; }
expect 0 "$ARCHIVE" restore 2025-06
expect 0 "$ARCHIVE" run --month 2025-06
grep -q "ETA" "$T/err" && fail "a progress line when stderr is not a terminal"

# Nothing more is due; a second run is a no-op.
expect 0 "$ARCHIVE" run
contains "$T/out" "nothing to archive"

# Restore, twice: the month is back once, in the store, files and log.
expect 0 "$ARCHIVE" restore 2025-02 --json
jq -e '.restored == 300' "$T/out" >/dev/null || fail "restore count"
expect 0 "$ARCHIVE" restore 2025-02
contains "$T/out" "restored 0 snapshots, 300 already in the store"
[ "$(count actions)" = 300 ] || fail "restore count in the store"
[ "$(wc -l < snapshots/action_log.jsonl)" = 300 ] || fail "restore log lines"
expect 0 "$BARROT" verify
expect 0 "$ARCHIVE" run --json
jq -e '.snapshots == 300' "$T/out" >/dev/null || fail "re-archiving the restored month"
expect 0 "$ARCHIVE" verify

# Damage is reported by verify, and restore refuses it.
cp "$A/2025-03.jsonl.zst" "$T/saved.zst"
printf 'x' | dd of="$A/2025-03.jsonl.zst" bs=1 seek=40 conv=notrunc status=none
expect 1 "$ARCHIVE" verify 2025-03
contains "$T/out" "2025-03"
expect 1 "$ARCHIVE" restore 2025-03
cp "$T/saved.zst" "$A/2025-03.jsonl.zst"
expect 0 "$ARCHIVE" verify

# Bad input: a clear error, exit 2, nothing changed.
before=$(ls -l "$A" | md5sum)
expect 2 "$ARCHIVE" run --month 2025-13
contains "$T/err" "bad month '2025-13'"
expect 2 "$ARCHIVE" run --month "../../etc"
# An empty month (an unset variable in a script) is refused, never "all".
expect 2 "$ARCHIVE" run --month ""
contains "$T/err" "--month is empty"
expect 2 "$ARCHIVE" run --month= --dry-run
expect 2 "$ARCHIVE" verify ""
expect 2 "$ARCHIVE" run --level 0
expect 2 "$ARCHIVE" run --level 99
expect 2 "$ARCHIVE" run --retain-actions forever
contains "$T/err" "--retain-actions"
expect 2 "$ARCHIVE" run --month "$(date -u +%Y-%m)"
contains "$T/err" "has not ended"
expect 2 "$ARCHIVE" restore
expect 2 "$ARCHIVE" restore 2025
expect 1 "$ARCHIVE" restore 2024-01
contains "$T/err" "no archive of 2024-01"
expect 1 "$ARCHIVE" verify 2024-01
printf 'archive:\n  keep: 3\n' > bad.yaml
expect 2 "$ARCHIVE" run --config bad.yaml
contains "$T/err" "archive.keep"
expect 2 "$ARCHIVE" frobnicate
expect 2 "$ARCHIVE" run --no-such-flag
[ "$(ls -l "$A" | md5sum)" = "$before" ] || fail "bad input changed the archives"
expect 0 "$ARCHIVE" --help
contains "$T/out" "restore MONTH"

# Configuration: retention and directory from the file, flags over it.
{ gen_actions 2025 4 50; } > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
printf 'archive:\n  dir: %s/elsewhere\n  retain_actions: 36600d\n' "$T" > conf.yaml
expect 0 "$ARCHIVE" run --config conf.yaml --json
jq -e '.months == []' "$T/out" >/dev/null || fail "the configured retention was not applied"
expect 0 "$ARCHIVE" run --config conf.yaml --retain-actions 30d --json
jq -e '.months[0].month == "2025-04"' "$T/out" >/dev/null || fail "the flag did not override"
[ -f "$T/elsewhere/2025-04.jsonl.zst" ] || fail "the configured directory was not used"
expect 0 "$BARROT" verify

# Writers keep writing while a month is archived: every acknowledged
# snapshot survives, exactly once, and everything verifies.
{ gen_actions 2025 5 3000; } > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
: > "$T/acked"
for w in 1 2 3; do "$WRITER" "$BARROT_SNAPSHOTS_DIR" 300 "$w" 50 >> "$T/acked" 2>>"$T/werr" & done
expect 0 "$ARCHIVE" run --month 2025-05 --json
wait
jq -e '.months[0].actions == 3000' "$T/out" >/dev/null || { cat "$T/out"; fail "concurrent archive"; }
sort -u "$T/acked" > "$T/acked_ids"
[ "$(wc -l < "$T/acked_ids")" = 900 ] || fail "writers acknowledged $(wc -l < "$T/acked_ids") of 900"
ids_everywhere
[ -z "$(comm -23 "$T/acked_ids" "$T/in_store")" ] || fail "a snapshot written during the run was lost"
[ -z "$(comm -12 "$T/in_store" "$T/in_archives")" ] || fail "a snapshot is both archived and stored"
expect 0 "$BARROT" verify
expect 0 "$ARCHIVE" verify

# --after pages through the store and the archives together, in either
# order, without a gap or a repeat, from a cursor in either.
for order in "" --reverse; do
  expect 0 "$BARROT" search --since 2025-05-01 --archives -o ids --limit 100000 $order
  cp "$T/out" "$T/all_ids"
  [ "$(wc -l < "$T/all_ids")" -ge 3900 ] || fail "--archives found $(wc -l < "$T/all_ids")"
  : > "$T/paged"; last=""; pages=0
  while :; do
    expect 0 "$BARROT" search --since 2025-05-01 --archives -o ids --limit 1000 $order ${last:+--after "$last"}
    [ -s "$T/out" ] || break
    cat "$T/out" >> "$T/paged"; last=$(tail -1 "$T/out"); pages=$((pages + 1))
    if [ "$pages" = 2 ]; then
      expect 0 "$BARROT" search --since 2025-05-01 --archives --count $order --after "$last"
      [ "$(cat "$T/out")" = $(($(wc -l < "$T/all_ids") - 2000)) ] || fail "--count --after: $(cat "$T/out")"
    fi
  done
  cmp -s "$T/all_ids" "$T/paged" || fail "pages ($order) differ from one search"
done
expect 1 "$BARROT" search --archives --since 2025-05-01 --after action_20250505_000000_000000 -o ids
contains "$T/err" "no snapshot action_20250505_000000_000000 in the store or its archives"
# A later month that needs the operator (a file in the way of its archive)
# stops the run after the months before it: they are reported, exit 1.
mkdir later
{ gen_actions 2024 1 20; gen_actions 2024 2 20; } > later/action_log.jsonl
expect 0 "$BARROT" import later
echo junk > "$BARROT_SNAPSHOTS_DIR/archive/2024-02.jsonl.zst"
expect 1 "$ARCHIVE" run
contains "$T/out" "2024-01: moved 20 actions"
contains "$T/err" "barrot-archive: error: could not archive 2024-02"
rm "$BARROT_SNAPSHOTS_DIR/archive/2024-02.jsonl.zst"
expect 0 "$ARCHIVE" run
contains "$T/out" "2024-02: moved 20 actions"

# Archives moved away (or a mirror rebuilt elsewhere without them): named as
# missing, exit 1; found again where --archive-dir says, checked against the
# store's record of each.
mv "$BARROT_SNAPSHOTS_DIR/archive" "$T/moved"
expect 1 "$ARCHIVE" restore 2024-01
contains "$T/err" "the archive is missing, with its directory"
contains "$T/err" "'barrot-archive run --archive-dir DIR' finds it there and records its new place"
expect 1 "$BARROT" search --archives --since 2024-01-01 --until 2024-02-01 --count
expect 1 "$ARCHIVE" verify
expect 1 "$ARCHIVE" list --json
jq -e 'any(.[]; .month == "2024-01" and .archive_bytes == 0)' "$T/out" >/dev/null || fail "list: the missing archive not listed"
contains "$T/err" "barrot-archive: error: the archive of 2024-01, "
expect 0 "$ARCHIVE" verify --archive-dir "$T/moved"
expect 0 "$ARCHIVE" list --archive-dir "$T/moved" --json
jq -e 'all(.[]; .archive_bytes > 0)' "$T/out" >/dev/null || fail "list did not find the moved archives"
expect 0 "$BARROT" search --archives --since 2024-01-01 --until 2024-02-01 --count --archive-dir "$T/moved"
[ "$(cat "$T/out")" = 20 ] || fail "search of moved archives: $(cat "$T/out")"
# ... or where the configuration's archive.dir says, as barrot-archive.
printf 'archive:\n  dir: %s\n' "$T/moved" > "$T/moved.yaml"
BARROT_CONFIG="$T/moved.yaml" expect 0 "$BARROT" search --archives --since 2024-01-01 --until 2024-02-01 --count
[ "$(cat "$T/out")" = 20 ] || fail "search of moved archives (config): $(cat "$T/out")"
printf 'archive:\n  dir: [x]\n' > "$T/bad.yaml"
BARROT_CONFIG="$T/bad.yaml" expect 2 "$BARROT" search --archives --since 2024-01-01 --until 2024-02-01 --count
expect 0 "$ARCHIVE" restore 2024-01 --archive-dir "$T/moved"
contains "$T/out" "2024-02: archive found in $T/moved, recorded there"
contains "$T/out" "restored 20 snapshots"
# Recorded: every reader finds them now, without --archive-dir.
expect 0 "$BARROT" verify --chain
expect 0 "$BARROT" search --archives --since 2024-02-01 --until 2024-03-01 --count
[ "$(cat "$T/out")" = 20 ] || fail "search of recorded moved archives: $(cat "$T/out")"
# Another month's archive under this month's name is not taken for it.
cp "$T/moved/2024-02.jsonl.zst" "$T/moved/2024-01.jsonl.zst.x"
mv "$T/moved/2024-01.jsonl.zst" "$T/2024-01.kept"
mv "$T/moved/2024-01.jsonl.zst.x" "$T/moved/2024-01.jsonl.zst"
expect 1 "$ARCHIVE" verify 2024-01 --archive-dir "$T/moved"
contains "$T/out" "$T/moved/2024-01.jsonl.zst"
expect 2 "$BARROT" search --archive-dir "$T/moved" --count
contains "$T/err" "--archive-dir goes with --archives"
mv "$T/2024-01.kept" "$T/moved/2024-01.jsonl.zst"
mv "$T/moved" "$BARROT_SNAPSHOTS_DIR/archive"
expect 0 "$ARCHIVE" verify

# Copies of archived snapshots put back into the mirror (from an old copy
# of the directory, or by restoring a database backup taken after the
# month was archived, when the month was restored since): named as such,
# and repair removes them (the archive holds them); a stranger stays.
S=$BARROT_SNAPSHOTS_DIR
expect 0 "$ARCHIVE" restore 2024-02
copies=("$S"/action_202402*.json) # (ls | grep -m1 could die of SIGPIPE under pipefail)
id=$(basename "${copies[0]}")
cp "$S/$id" "$T/copy.json"
grep -F "\"${id%.json}\"" "$S/action_log.jsonl" > "$T/copy.line"
expect 0 "$ARCHIVE" run --month 2024-02
cp "$T/copy.json" "$S/$id"
cat "$T/copy.line" >> "$S/action_log.jsonl"
cp "$T/copy.json" "$S/action_20240215_000000_999999.json" # not archived: a stranger
expect 1 "$BARROT" verify
contains "$T/out" "1 files and 1 log lines are copies of snapshots archived in 2024-02"
contains "$T/out" "extra_file"
expect 0 "$BARROT" repair
contains "$T/out" "copies of archived snapshots moved to quarantine: 1 files, 1 log lines"
[ ! -e "$S/$id" ] || fail "repair left the copy of an archived snapshot"
# Kept, not deleted: an id alone does not prove the copy the same.
kept=$(find "$S/.barrot/quarantine" -name "$id" -print -quit)
[ -n "$kept" ] && cmp -s "$kept" "$T/copy.json" || fail "the copy was not kept in quarantine"
cmp -s "$(dirname "$kept")/action_log.archived-copies.jsonl" "$T/copy.line" \
  || fail "the copy's log line was not kept in quarantine"
[ -e "$S/action_20240215_000000_999999.json" ] || fail "repair removed a file no archive holds"
rm "$S/action_20240215_000000_999999.json"
expect 0 "$BARROT" verify
expect 0 "$ARCHIVE" verify
echo "archive: ok"
