# The GitHub Actions workflows: they parse, pin their actions, keep untrusted
# event values out of scripts, and the exact script the push step runs
# records a hostile commit message verbatim. The commit step pushes through
# a race with another push.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$DATA/../.." && pwd)
WF=$REPO/.github/workflows

# They parse (barrot's own YAML reader lists scheduled workflows), with the
# schedules meant.
"$BARROT" periodic --base-dir "$T" --workflows-dir "$WF" --json > periodic.json
jq -e '[.workflows.scheduled[] | {(.file): .cron}] | add
  | .["barrot-snapshot.yml"] == ["*/30 * * * *"] and .["barrot-archive.yml"] == ["17 3 2 * *"]' \
  periodic.json >/dev/null || { jq .workflows periodic.json >&2; fail "workflow schedules"; }
if jq -e '.system_state.health_reasons // [] | map(select(test("workflow"))) | length > 0' \
  periodic.json >/dev/null; then
  jq .system_state.health_reasons periodic.json >&2; fail "a workflow did not parse"
fi

for f in "$WF"/*.yml; do
  # Every action pinned to a full commit hash.
  if grep -E '^\s*-?\s*uses:' "$f" | grep -vqE 'uses: [^@]+@[0-9a-f]{40}( |$)'; then
    fail "$(basename "$f"): an action not pinned to a commit"
  fi
  # Least privilege: contents: write and nothing else.
  perms=$(awk '/^permissions:/{p=1; next} p && /^[^ #]/{p=0} p && NF' "$f" | sed 's/ *#.*//')
  [ "$perms" = "  contents: write" ] || fail "$(basename "$f"): permissions are '$perms'"
  # Event values only as environment variables (KEY: ${{ ... }}), never in a script.
  if grep -n '\${{' "$f" | grep -E 'github\.(event\.|head_ref|actor)' \
    | grep -vqE '^[0-9]+:\s+[A-Z_]+: \$\{\{ github\.[a-z_.]+ \}\}$'; then
    grep -n '\${{' "$f" | grep -E 'github\.(event\.|head_ref|actor)' >&2
    fail "$(basename "$f"): an event value outside an env: mapping"
  fi
done
grep -qE '^\s+run: scripts/ci/record-push.sh$' "$WF/barrot-snapshot.yml" || fail "push step"
# The variables the workflow sets are those the script reads.
set_vars=$(grep -oE '^\s+PUSH_[A-Z]+:' "$WF/barrot-snapshot.yml" | tr -d ' :' | sort | tr '\n' ' ')
read_vars=$(grep -oE '\$\{PUSH_[A-Z]+' "$REPO/scripts/ci/record-push.sh" | tr -d '${' | sort -u | tr '\n' ' ')
[ "$set_vars" = "$read_vars" ] || fail "workflow sets '$set_vars', script reads '$read_vars'"

# A hostile push, through the exact script, with the environment the
# workflow gives it.
message=$'fix: "double" \'single\' $(touch pwned1) `touch pwned2` ${HOME} $PATH\n\nsecond line; touch pwned3\n\ttab | rm -rf / && echo ok'
branch=$'feature/$(touch pwned4)\'"`x`'
env -i PATH="$PATH" BARROT="$BARROT" BARROT_SNAPSHOTS_DIR="$BARROT_SNAPSHOTS_DIR" \
  PUSH_BRANCH="$branch" PUSH_COMMIT=0123456789abcdef0123456789abcdef01234567 \
  PUSH_AUTHOR='Mallory "); DROP TABLE snapshots;--' PUSH_ACTOR='mallory$(id)' \
  PUSH_MESSAGE="$message" PUSH_COMPARE='https://example.com/compare/a...b' \
  bash "$REPO/scripts/ci/record-push.sh" > id.txt
ls pwned* 2>/dev/null && fail "the commit message ran a command"
id=$(cat id.txt)
"$BARROT" view "$id" --json > push.json
[ "$(jq -r .action.type push.json)" = push_event ] || fail "type"
[ "$(jq -r .action.status push.json)" = completed ] || fail "status"
[ "$(jq -j .action.details.message push.json)" = "$message" ] || fail "message not verbatim"
[ "$(jq -j .action.details.branch push.json)" = "$branch" ] || fail "branch not verbatim"
[ "$(jq -j .action.details.author push.json)" = 'Mallory "); DROP TABLE snapshots;--' ] || fail "author"
[ "$(jq -j .action.details.actor push.json)" = 'mallory$(id)' ] || fail "actor"
# And the log line holds it too.
grep -F "\"snapshot_id\":\"$id\"" "$BARROT_SNAPSHOTS_DIR/action_log.jsonl" \
  | jq -e --arg m "$message" '.action.details.message == $m' >/dev/null || fail "log line"
expect 0 "$BARROT" verify

# The commit step: a person pushes meanwhile; the snapshots still land.
git init -q --bare remote.git
git clone -q remote.git runner 2>/dev/null
(cd runner && git checkout -q -b main && git config user.email t@example.com \
  && git config user.name t && echo readme > README && git add README && git commit -qm init \
  && git push -q -u origin main)
git clone -q -b main remote.git person
(cd person && git config user.email p@example.com && git config user.name p \
  && echo change >> README && git commit -qam "a person's commit" && git push -q)
# The runner's checkout has this repository's .gitignore, which ignores
# snapshots/ for local runs: the commit must land them all the same.
cp "$REPO/.gitignore" runner/.gitignore
mkdir -p runner/snapshots
"$BARROT" --dir runner/snapshots action ci_run '{}' --status completed -q >/dev/null
(cd runner && BARROT="$BARROT" bash "$REPO/scripts/ci/anchor-chain.sh" >/dev/null)
[ -f runner/snapshots/chain_head.json ] || fail "no chain head written"
(cd runner && BARROT_COMMIT_TITLE="barrot: push snapshot" bash "$REPO/scripts/ci/commit-snapshots.sh")
git -C remote.git log --format=%s main > pushed.txt
[ "$(head -n 1 pushed.txt)" = "barrot: push snapshot" ] || fail "snapshots not pushed: $(cat pushed.txt)"
grep -qx "a person's commit" pushed.txt || fail "the person's commit was lost"
git -C remote.git show main:snapshots/action_log.jsonl | jq -e '.action.type == "ci_run"' >/dev/null \
  || fail "the log did not land"
git -C remote.git ls-tree -r --name-only main > tree.txt
grep -qx snapshots/.barrot/barrot.db tree.txt || fail "the database did not land"
grep -qx snapshots/chain_head.json tree.txt || fail "the chain head did not land"
grep -qx snapshots/.barrot/mirror-id tree.txt || fail "the mirror id did not land"
grep -E 'snapshots/\.barrot/(lock|gate|.*-shm)' tree.txt && fail "lock or shm files committed"

# The next run, on a fresh checkout: the store is whole (database from git),
# the committed head anchors the chain; a history rewritten in between
# stops the run before anything is pushed.
git clone -q -b main remote.git runner2
(cd runner2 && "$BARROT" --dir snapshots verify --chain >/dev/null) || fail "fresh checkout verify"
(cd runner2 && "$BARROT" --dir snapshots action ci_run '{"n": 2}' -q >/dev/null \
  && BARROT="$BARROT" bash "$REPO/scripts/ci/anchor-chain.sh" >/dev/null) || fail "second anchor"
printf '{"seq": %s, "hash": "%s"}\n' "$(jq .seq runner2/snapshots/chain_head.json)" \
  "$(printf 'f%.0s' $(seq 64))" > runner2/snapshots/chain_head.json
if (cd runner2 && BARROT="$BARROT" bash "$REPO/scripts/ci/anchor-chain.sh" > ../anchor.out 2>&1); then
  fail "a chain head the store no longer holds was accepted"
fi
grep -q "chain break: anchor" anchor.out || fail "anchor break not named: $(cat anchor.out)"
echo "workflows: ok"
