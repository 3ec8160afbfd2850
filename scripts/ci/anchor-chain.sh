#!/usr/bin/env bash
# Checks the store against the chain head the last run committed, then
# writes the new head to be committed with the snapshots
# (docs/integrity.md, "Anchoring the chain in git"). A store whose history
# was rewritten since the last run fails here, before anything is pushed.
#
#   BARROT   the barrot binary (default: build/tools/barrot)
set -euo pipefail
barrot=${BARROT:-build/tools/barrot}
head=snapshots/chain_head.json
if [ -f "$head" ]; then
  "$barrot" verify --chain --anchor "$head"
else
  "$barrot" verify --chain
fi
"$barrot" chain-head -o "$head"
