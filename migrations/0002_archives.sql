-- 0002: monthly archives (barrot-archive; docs/formats.md, "Archives").
-- Shipped: never edit; add a new migration instead.

-- One row per archived month. `file` is the archive's absolute path,
-- <archive dir>/<month>.jsonl.zst, with <month>.manifest.json beside it;
-- `manifest` is a copy of that manifest as it was when the month's rows were
-- deleted.
--   cleaning: the rows are deleted; their mirror files and log lines are
--             still to be removed (a crash interrupted it, or it is running)
--   archived: done
--   restored: put back into the store by barrot-archive restore
CREATE TABLE archives (
  month       TEXT    PRIMARY KEY
                      CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
  file        TEXT    NOT NULL,
  snapshots   INTEGER NOT NULL,
  manifest    TEXT    NOT NULL,
  archived_us INTEGER NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('cleaning', 'archived', 'restored'))
);

-- Snapshots leave the store only by being archived: a row may be deleted
-- only while its month's archive is recorded and being cleaned, which
-- barrot-archive does in the transaction that deletes.
CREATE TRIGGER snapshots_leave_only_by_archive BEFORE DELETE ON snapshots
WHEN NOT EXISTS (
  SELECT 1 FROM archives
  WHERE month = strftime('%Y-%m', old.ts_us / 1000000, 'unixepoch') AND state = 'cleaning'
)
BEGIN
  SELECT RAISE(ABORT, 'snapshots are deleted only by barrot-archive, after archiving');
END;
