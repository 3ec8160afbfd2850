# The hash chain end to end: barrot verify --chain and chain-head, and the
# standard-tools check of docs/integrity.md (scripts/verify-chain.sh), on a
# store with written, imported, periodic and archived snapshots; then
# tampering in the files, the log and the archives, each caught by both.
source "$(dirname "$0")/lib.sh"
[ -n "$ARCHIVE" ] || fail "no barrot-archive given"
REPO=$(cd "$DATA/../.." && pwd)
CHECK="$REPO/scripts/verify-chain.sh"
A=snapshots/archive

mkdir legacy
{ gen_actions 2025 1 40; gen_actions 2025 2 30; } > legacy/action_log.jsonl
expect 0 "$BARROT" import legacy
expect 0 "$BARROT" import "$DATA/legacy-snapshots"
expect 0 "$BARROT" periodic # real system state: floats, nested lists
expect 0 "$BARROT" action deploy '{"ratio": 1.0, "big": 12345678901234567890, "text": "a\"b: c\u00e9\n"}' --status completed
expect 0 "$BARROT" fail deploy "disk full" '{"env": "prod"}'
expect 0 "$ARCHIVE" run --month 2025-01
expect 0 "$BARROT" periodic

# Both checks pass, and agree on the head.
expect 0 "$BARROT" verify --chain
contains "$T/out" "chain intact"
head_line=$(grep '^head: ' "$T/out")
expect 0 "$BARROT" chain-head -o "$T/head.json"
[ "$(jq -r '"head: seq \(.seq) \(.snapshot_id) \(.hash)"' "$T/head.json")" = "$head_line" ] \
  || fail "chain-head disagrees with verify --chain: $head_line"
expect 0 bash "$CHECK" snapshots
contains "$T/out" "head: seq $(jq -r '"\(.seq) \(.hash)"' "$T/head.json")"
expect 0 "$BARROT" --json verify --chain --anchor "$T/head.json" \
  --anchor "$(jq -r '"\(.seq):\(.hash)"' "$T/head.json")"
jq -e '.clean and .chain.anchors == 2 and .chain.archived == 40' "$T/out" >/dev/null \
  || { cat "$T/out"; fail "verify --chain --json"; }
expect 0 bash "$CHECK" snapshots --anchor "$(jq -r '"\(.seq):\(.hash)"' "$T/head.json")"

# Bad anchors are bad input.
expect 2 "$BARROT" verify --chain --anchor 12:abc
contains "$T/err" "64 lowercase hex digits"
echo '{"seq": "x"}' > "$T/bad.json"
expect 2 "$BARROT" verify --chain --anchor "$T/bad.json"
contains "$T/err" "anchor file"
expect 2 "$BARROT" verify --anchor "$T/head.json"
contains "$T/err" "--anchor needs --chain"

cp -a snapshots "$T/pristine"
restore() { rm -rf snapshots && cp -a "$T/pristine" snapshots; }
# tampered WHAT: both checks fail, each naming WHAT.
tampered() {
  expect 1 "$BARROT" verify --chain
  contains "$T/out" "chain break: "
  contains "$T/out" "$1"
  expect 1 bash "$CHECK" snapshots
  contains "$T/err" "BROKEN"
  contains "$T/err" "$1"
  restore
}

# A file: edited, deleted, a forged one inserted, two records swapped.
f=$(ls snapshots/action_2026*.json | head -1)
id=$(basename "$f" .json)
sed -i 's/"disk full"/"all fine"/; s/"deploy"/"deplox"/' "$f"
tampered "$id"
rm "$f"
expect 1 "$BARROT" verify --chain
contains "$T/out" "$id"
restore
cp "$f" snapshots/action_20990101_000000_000000.json
sed -i 's/"snapshot_id": "[^"]*"/"snapshot_id": "action_20990101_000000_000000"/' \
  snapshots/action_20990101_000000_000000.json
tampered action_20990101_000000_000000

# The log: an edited line, a deleted one, a line moved to another seq.
line=$(grep -n '"type":"deploy","status":"completed"' snapshots/action_log.jsonl | tail -1 | cut -d: -f1)
lid=$(sed -n "${line}p" snapshots/action_log.jsonl | jq -r .snapshot_id)
sed -i "${line}s/\"completed\"/\"failed\"/" snapshots/action_log.jsonl
tampered "$lid"
sed -i "${line}d" snapshots/action_log.jsonl
expect 1 "$BARROT" verify --chain
contains "$T/out" "$lid"
restore
seq=$(sed -n "${line}p" snapshots/action_log.jsonl | jq .metadata.chain.seq)
sed -i -E "${line}s/\"chain\":\\{\"seq\":$seq,/\"chain\":{\"seq\":$((seq - 1)),/" snapshots/action_log.jsonl
tampered "$lid"

# An archive: a line edited (the chain hash recomputed to match, as a forger
# would; the next record no longer links) and a line deleted.
zstdcat "$A/2025-01.jsonl.zst" > "$T/jan.jsonl"
third=$(sed -n 3p "$T/jan.jsonl")
aid=$(jq -r .snapshot_id <<< "$third")
prev=$(jq -r .metadata.chain.prev <<< "$third")
seq=$(jq .metadata.chain.seq <<< "$third")
content=$(unchain <<< "$third" | sed 's/"env":"prod"/"env":"test"/')
hash=$(printf '%s%s' "$prev" "$content" | sha256sum | cut -d' ' -f1)
forged="${content%\}\}},\"chain\":{\"seq\":$seq,\"prev\":\"$prev\",\"hash\":\"$hash\"}}}"
awk -v n=3 -v l="$forged" 'NR == n { print l; next } { print }' "$T/jan.jsonl" \
  | zstd -q -f -o "$A/2025-01.jsonl.zst"
expect 1 "$BARROT" verify --chain
contains "$T/out" "chain break: archive"
contains "$T/out" "chain break: chain"
expect 1 bash "$CHECK" snapshots
contains "$T/err" "BROKEN"
restore
sed 3d "$T/jan.jsonl" | zstd -q -f -o "$A/2025-01.jsonl.zst"
expect 1 "$BARROT" verify --chain
contains "$T/out" "chain break: chain"
expect 1 bash "$CHECK" snapshots
contains "$T/err" "its prev is not the hash of the record before it"
restore
# A forged line inserted after line 5: a new id at the same time, its own
# record (hash recomputed, a seq of its own); it links to nothing.
fifth=$(sed -n 5p "$T/jan.jsonl")
fprev=$(jq -r .metadata.chain.prev <<< "$fifth")
fcontent=$(unchain <<< "$fifth" | sed -E 's/^\{"snapshot_id":"action_([0-9_]+)_[0-9]{6}"/{"snapshot_id":"action_\1_999999"/')
fid=$(jq -r .snapshot_id <<< "$fcontent")
fhash=$(printf '%s%s' "$fprev" "$fcontent" | sha256sum | cut -d' ' -f1)
fline="${fcontent%\}\}},\"chain\":{\"seq\":99999,\"prev\":\"$fprev\",\"hash\":\"$fhash\"}}}"
awk -v n=5 -v l="$fline" '{ print } NR == n { print l }' "$T/jan.jsonl" \
  | zstd -q -f -o "$A/2025-01.jsonl.zst"
expect 1 "$BARROT" verify --chain
contains "$T/out" "chain break: chain"
contains "$T/out" "$fid"
expect 1 bash "$CHECK" snapshots
contains "$T/err" "$fid"
restore
# Two records swapped in the chain (their seqs exchanged), and two lines
# swapped in the file: the first is caught by both checks; the second
# moves no record, and is caught by barrot through the archive's manifest
# and its time order.
s2=$(sed -n 2p "$T/jan.jsonl" | jq .metadata.chain.seq)
s4=$(sed -n 4p "$T/jan.jsonl" | jq .metadata.chain.seq)
sed -E "2s/\"chain\":\{\"seq\":$s2,/\"chain\":{\"seq\":$s4,/; 4s/\"chain\":\{\"seq\":$s4,/\"chain\":{\"seq\":$s2,/" \
  "$T/jan.jsonl" | zstd -q -f -o "$A/2025-01.jsonl.zst"
expect 1 "$BARROT" verify --chain
contains "$T/out" "chain break: "
expect 1 bash "$CHECK" snapshots
contains "$T/err" "BROKEN"
restore
awk 'NR == 2 { held = $0; next } { print } NR == 3 { print held }' "$T/jan.jsonl" \
  | zstd -q -f -o "$A/2025-01.jsonl.zst"
expect 1 "$BARROT" verify --chain
contains "$T/out" "chain break: archive"
restore

# Everything restored: clean again; a restored month keeps its records.
expect 0 "$BARROT" verify --chain
expect 0 "$ARCHIVE" restore 2025-01
expect 0 "$BARROT" verify --chain
expect 0 bash "$CHECK" snapshots
