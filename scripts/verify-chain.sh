#!/usr/bin/env bash
# Checks the hash chain of a Barrot snapshots directory with standard tools
# only (bash, sed, tr, awk, sort, sha256sum; zstdcat for archives): no
# barrot, no database, no key. docs/integrity.md explains each step.
#
#   scripts/verify-chain.sh [SNAPSHOTS_DIR [ARCHIVE_DIR]] [--anchor SEQ:HASH]
#
# Exit 0 when every record hashes right and links to the one before it;
# 1 naming the first record that does not; 2 for bad usage.
set -euo pipefail

dir=snapshots
archives=
anchor=
positional=0
while [ $# -gt 0 ]; do
  case $1 in
    --anchor) anchor=${2:?--anchor needs SEQ:HASH}; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *)
      positional=$((positional + 1))
      if [ $positional = 1 ]; then dir=$1; else archives=$1; fi
      shift ;;
  esac
done
[ -d "$dir" ] || { echo "verify-chain: no directory $dir" >&2; exit 2; }
[ -n "$archives" ] || archives=$dir/archive
genesis=0000000000000000000000000000000000000000000000000000000000000000
records=$(mktemp)
trap 'rm -f "$records"' EXIT

# An indented file as the compact line it was made from: each line loses
# its indentation and the space after its key's colon, and the lines join
# (strings never hold a raw newline; a '"' inside one is escaped).
compact() { sed -E 's/^ +//; s/^("([^"\\]|\\.)*"): /\1:/' "$1" | tr -d '\n'; }

# One compact record: checks that its content (the line without the chain
# record) hashes to its record's hash, and prints "seq prev hash where".
check() {
  local line=$1 where=$2 record content computed id
  id=$(printf '%s' "$line" | sed -nE 's/^\{"snapshot_id":"([^"]*)".*/\1/p')
  where="$where ${id:-?}"
  record=$(printf '%s' "$line" |
    sed -nE 's/.*,"chain":\{"seq":([0-9]+),"prev":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}\}+$/\1 \2 \3/p')
  if [ -z "$record" ]; then
    echo "BROKEN $where: no chain record" >&2
    return 1
  fi
  content=$(printf '%s' "$line" |
    sed -E 's/,"chain":\{"seq":[0-9]+,"prev":"[0-9a-f]{64}","hash":"[0-9a-f]{64}"\}(\}+)$/\1/')
  set -- $record
  computed=$(printf '%s%s' "$2" "$content" | sha256sum | cut -d' ' -f1)
  if [ "$computed" != "$3" ]; then
    echo "BROKEN $where (seq $1): its content does not hash to its record: edited" >&2
    return 1
  fi
  echo "$1 $2 $3 ${where// /:}"
}

status=0
for f in "$dir"/action_*.json "$dir"/periodic_*.json; do
  [ -e "$f" ] || continue
  check "$(compact "$f")" "$f" >> "$records" || status=1
done
if [ -f "$dir/action_log.jsonl" ]; then
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    check "$line" "$dir/action_log.jsonl:$n" >> "$records" || status=1
  done < "$dir/action_log.jsonl"
fi
for a in "$archives"/*.jsonl.zst; do
  [ -e "$a" ] || continue
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    # Archives written before the chain carry no records: skipped.
    case $line in *'"chain":{"seq":'*) check "$line" "$a:$n" >> "$records" || status=1 ;; esac
  done < <(zstdcat "$a")
done

# The same seq everywhere it appears must be the same record; then, in seq
# order, each prev must be the hash before it (the first: the genesis).
summary=$(sort -k1,1n -k4,4 "$records" | awk -v genesis="$genesis" -v anchor="$anchor" '
  BEGIN { split(anchor, a, ":"); status = 0 }
  $1 == seq {
    if ($2 != prev_of_seq || $3 != hash) {
      print "BROKEN " $4 " (seq " $1 "): another record for this seq is in " where > "/dev/stderr"
      status = 1
    }
    next
  }
  {
    expected = (NR == 1 ? genesis : hash)
    if ($2 != expected) {
      print "BROKEN " $4 " (seq " $1 "): its prev is not the hash of the record before it" \
            (NR == 1 ? " (the genesis)" : " (seq " seq ", " where ")") > "/dev/stderr"
      status = 1
    }
    seq = $1; prev_of_seq = $2; hash = $3; where = $4; count++
    if (anchor != "" && seq == a[1]) { anchored = ($3 == a[2]) ? 1 : -1 }
  }
  END {
    if (anchor != "" && anchored != 1) {
      print "BROKEN anchor " anchor ": " (anchored == -1 ? "the chain holds another hash there" \
            : "no record at that seq") > "/dev/stderr"
      status = 1
    }
    print count + 0 " records; head: seq " seq " " hash
    exit status
  }') || status=1
if [ $status = 0 ]; then
  echo "chain intact: $summary"
else
  echo "chain broken: $summary"
fi
exit $status
