#!/usr/bin/env bash
# Commits snapshots/ and pushes, rebasing onto pushes made meanwhile. The
# snapshot and archive workflows share a concurrency group, so no other
# writer of snapshots/ runs at the same time: what a rebase meets is other
# people's commits, which do not touch snapshots/. Should one ever conflict
# there, this stops with an error rather than choose a side of the log.
#
#   BARROT_COMMIT_TITLE   the commit message's title (default: from the
#                         event GitHub names in GITHUB_EVENT_NAME)
set -euo pipefail
git config user.name "barrot"
git config user.email "barrot@users.noreply.github.com"
# The mirror, the archives and the database (with its write-ahead log, if
# one is left: no barrot process is running, so the two are consistent,
# and SQLite replays the log on the next open), and the mirror id that binds
# the directory to the database. Not the lock files, the shared-memory index
# or the quarantine. Forced: a checkout's .gitignore may ignore snapshots/
# (this repository's does, for local runs).
db=snapshots/.barrot/barrot.db
git add -A -f -- snapshots ':(exclude)snapshots/.barrot'
git add -f -- "$db"
if [ -f snapshots/.barrot/mirror-id ]; then
  git add -f -- snapshots/.barrot/mirror-id
fi
if [ -f "$db-wal" ]; then
  git add -f -- "$db-wal"
else
  git rm -q --cached --ignore-unmatch -- "$db-wal"
fi
if git diff --cached --quiet; then
  exit 0
fi
git commit -q -m "${BARROT_COMMIT_TITLE:-barrot: ${GITHUB_EVENT_NAME:-manual} snapshot}"
for attempt in 1 2 3 4 5; do
  if git push -q; then
    exit 0
  fi
  sleep $((attempt * 2))
  if ! git pull -q --rebase; then
    git rebase --abort || true
    echo "snapshots/ changed on the remote too; not pushing (resolve by hand)" >&2
    exit 1
  fi
done
echo "could not push the snapshots after 5 attempts" >&2
exit 1
