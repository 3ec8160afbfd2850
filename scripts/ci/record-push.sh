#!/usr/bin/env bash
# Records one push_event action from the environment the workflow sets
# (.github/workflows/barrot-snapshot.yml). Every value comes from a variable
# and goes to barrot as one JSON argument built by jq --arg: quotes, $(...),
# backticks and newlines in a commit message are recorded as text.
#
#   BARROT          the barrot binary (default: barrot on PATH)
#   PUSH_BRANCH, PUSH_COMMIT, PUSH_AUTHOR, PUSH_ACTOR, PUSH_MESSAGE, PUSH_COMPARE
set -euo pipefail
barrot=${BARROT:-barrot}
details=$(jq -cn \
  --arg branch "${PUSH_BRANCH:-}" \
  --arg commit "${PUSH_COMMIT:-}" \
  --arg author "${PUSH_AUTHOR:-}" \
  --arg actor "${PUSH_ACTOR:-}" \
  --arg message "${PUSH_MESSAGE:-}" \
  --arg compare "${PUSH_COMPARE:-}" \
  '{branch: $branch, commit: $commit, author: $author, actor: $actor, message: $message,
    compare: $compare}')
"$barrot" action push_event "$details" --status completed -q
