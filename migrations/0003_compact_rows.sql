-- 0003: store each action's document once, as columns, instead of twice
-- (columns and the whole JSON text); an index for the commonest search
-- (type, status and time) and one for time alone. Shipped: never edit; add
-- a new migration instead.
--
-- The rows move to `snapshot_rows`. `snapshots` becomes a view with every
-- column it had (document, timestamp and details included, byte for byte as
-- before), so queries written for 0001 keep working, in Barrot and in the
-- plain sqlite3 shell.
--
-- An action whose document has the standard form Barrot writes is stored as
-- its columns; `document` is NULL and the view rebuilds the text from them:
--
--   {"snapshot_id":"<id>","snapshot_type":"action","timestamp":"<iso(ts_us)>",
--    "action":{"type":"<action_type>","status":"<status>","details":<details>,
--    "started_at":"<iso(started_us or ts_us)>"[,"start_snapshot_id":"<id>"]},
--    "metadata":{"generated_by":"BarrotSnapshotGenerator","version":"1.0.0"}}
--
-- (one line, no spaces; iso() = YYYY-MM-DDTHH:MM:SS.ffffffZ). Any other
-- document (periodic snapshots, imported ones in another form) is stored
-- whole in `document`. A row is stored as columns only when the rebuilt text
-- equals the document exactly: the writer checks, and so does this
-- migration for the rows it moves.

CREATE TABLE snapshot_rows (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order, never reused
  snapshot_id       TEXT    NOT NULL UNIQUE,
  snapshot_type     TEXT    NOT NULL CHECK (snapshot_type IN ('action', 'periodic')),
  ts_us             INTEGER NOT NULL,                  -- UTC microseconds since the epoch
  action_type       TEXT,                              -- NULL for periodic snapshots
  status            TEXT CHECK (status IN ('executing', 'completed', 'failed')),
  origin            TEXT    NOT NULL DEFAULT 'barrot' CHECK (origin IN ('barrot', 'import')),
  details           TEXT,    -- action.details exactly as in the document; NULL for periodic
  started_us        INTEGER, -- action.started_at when it is not the snapshot's own time
  start_snapshot_id TEXT,    -- action.start_snapshot_id, if any
  document          TEXT,    -- the whole document, unless it has the standard form above
  CHECK ((snapshot_type = 'action') = (action_type IS NOT NULL AND status IS NOT NULL)),
  CHECK (document IS NOT NULL OR (snapshot_type = 'action' AND details IS NOT NULL))
);

INSERT INTO snapshot_rows (seq, snapshot_id, snapshot_type, ts_us, action_type, status, origin,
                           details, started_us, start_snapshot_id, document)
SELECT seq, snapshot_id, snapshot_type, ts_us, action_type, status, origin, details,
       CASE WHEN json_type(document, '$.action.started_at') = 'text'
                 AND json_extract(document, '$.action.started_at')
                     GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
            THEN nullif(unixepoch(substr(json_extract(document, '$.action.started_at'), 1, 19))
                          * 1000000
                        + CAST(substr(json_extract(document, '$.action.started_at'), 21, 6) AS INTEGER),
                        ts_us)
       END,
       CASE WHEN json_type(document, '$.action.start_snapshot_id') = 'text'
            THEN json_extract(document, '$.action.start_snapshot_id') END,
       document
FROM snapshots ORDER BY seq;

-- seq is never reused, also past rows archived away.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'snapshot_rows', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'snapshot_rows');
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'snapshots'), 0))
WHERE name = 'snapshot_rows';

-- Rows whose document is exactly the standard form keep only their columns.
UPDATE snapshot_rows SET document = NULL
WHERE snapshot_type = 'action' AND ts_us >= 0 AND coalesce(started_us, 0) >= 0
  AND document = '{"snapshot_id":"' || snapshot_id
     || '","snapshot_type":"action","timestamp":"'
     || strftime('%Y-%m-%dT%H:%M:%S', ts_us / 1000000, 'unixepoch')
     || printf('.%06dZ', ts_us % 1000000)
     || '","action":{"type":"' || action_type || '","status":"' || status
     || '","details":' || details
     || ',"started_at":"'
     || strftime('%Y-%m-%dT%H:%M:%S', coalesce(started_us, ts_us) / 1000000, 'unixepoch')
     || printf('.%06dZ', coalesce(started_us, ts_us) % 1000000) || '"'
     || coalesce(',"start_snapshot_id":"' || start_snapshot_id || '"', '')
     || '},"metadata":{"generated_by":"BarrotSnapshotGenerator","version":"1.0.0"}}';

DROP VIEW actions;
DROP VIEW periodic_snapshots;
DROP VIEW daily_counts;
DROP TABLE snapshots; -- its indexes and triggers go with it

-- Newest first with no other filter, and time windows (a status alone is
-- served by this one too: most rows are one of three statuses, so the
-- newest hundred of any are found within a few thousand rows).
CREATE INDEX snapshots_by_time        ON snapshot_rows (ts_us);
CREATE INDEX snapshots_by_type_time   ON snapshot_rows (snapshot_type, ts_us);
CREATE INDEX snapshots_by_action_time ON snapshot_rows (action_type, ts_us);
-- "The newest failed deploys this week, and how many": no row is read that
-- the answer does not hold, and the count reads the index alone.
CREATE INDEX snapshots_by_action_status_time ON snapshot_rows (action_type, status, ts_us);
-- Ends of actions by their start (pairing; stale starts).
CREATE INDEX snapshots_by_start ON snapshot_rows (start_snapshot_id)
WHERE start_snapshot_id IS NOT NULL;

CREATE VIEW snapshots AS
SELECT seq, snapshot_id, snapshot_type, ts_us, action_type, status, origin,
       CASE WHEN document IS NOT NULL THEN document ELSE
         '{"snapshot_id":"' || snapshot_id
         || '","snapshot_type":"action","timestamp":"'
         || strftime('%Y-%m-%dT%H:%M:%S', ts_us / 1000000, 'unixepoch')
         || printf('.%06dZ', ts_us % 1000000)
         || '","action":{"type":"' || action_type || '","status":"' || status
         || '","details":' || details
         || ',"started_at":"'
         || strftime('%Y-%m-%dT%H:%M:%S', coalesce(started_us, ts_us) / 1000000, 'unixepoch')
         || printf('.%06dZ', coalesce(started_us, ts_us) % 1000000) || '"'
         || coalesce(',"start_snapshot_id":"' || start_snapshot_id || '"', '')
         || '},"metadata":{"generated_by":"BarrotSnapshotGenerator","version":"1.0.0"}}'
       END AS document,
       CASE WHEN document IS NOT NULL THEN json_extract(document, '$.timestamp') ELSE
         strftime('%Y-%m-%dT%H:%M:%S', ts_us / 1000000, 'unixepoch')
         || printf('.%06dZ', ts_us % 1000000)
       END AS timestamp,
       details
FROM snapshot_rows;

-- Snapshots are a record of what happened: they are never changed in place.
CREATE TRIGGER snapshots_are_immutable BEFORE UPDATE ON snapshot_rows
BEGIN
  SELECT RAISE(ABORT, 'snapshots are immutable');
END;

-- As 0002: rows leave only by being archived.
CREATE TRIGGER snapshots_leave_only_by_archive BEFORE DELETE ON snapshot_rows
WHEN NOT EXISTS (
  SELECT 1 FROM archives
  WHERE month = strftime('%Y-%m', old.ts_us / 1000000, 'unixepoch') AND state = 'cleaning'
)
BEGIN
  SELECT RAISE(ABORT, 'snapshots are deleted only by barrot-archive, after archiving');
END;

-- As 0001: only indexed rows may be removed from the full-text index. The
-- index itself is unchanged: its content table is now the view, which gives
-- the same action_type and details text for every row.
CREATE TRIGGER snapshots_fts_delete AFTER DELETE ON snapshot_rows
WHEN old.snapshot_type = 'action'
 AND old.seq <= (SELECT indexed_seq FROM fts_state WHERE id = 1)
BEGIN
  INSERT INTO snapshots_fts (snapshots_fts, rowid, action_type, details)
  VALUES ('delete', old.seq, old.action_type, old.details);
END;

-- The analytics views of 0001, on the new columns.
CREATE VIEW actions AS
SELECT seq,
       snapshot_id,
       ts_us,
       CASE WHEN document IS NULL
            THEN strftime('%Y-%m-%dT%H:%M:%S', ts_us / 1000000, 'unixepoch')
                 || printf('.%06dZ', ts_us % 1000000)
            ELSE json_extract(document, '$.timestamp') END AS timestamp,
       action_type,
       status,
       details,
       CASE WHEN document IS NULL
            THEN strftime('%Y-%m-%dT%H:%M:%S', coalesce(started_us, ts_us) / 1000000, 'unixepoch')
                 || printf('.%06dZ', coalesce(started_us, ts_us) % 1000000)
            ELSE json_extract(document, '$.action.started_at') END AS started_at,
       start_snapshot_id,
       origin
FROM snapshot_rows
WHERE snapshot_type = 'action';

CREATE VIEW periodic_snapshots AS
SELECT seq,
       snapshot_id,
       ts_us,
       timestamp,
       json_extract(document, '$.interval')            AS interval,
       json_extract(document, '$.system_state.health') AS health,
       document
FROM snapshots
WHERE snapshot_type = 'periodic';

CREATE VIEW daily_counts AS
SELECT date(ts_us / 1000000, 'unixepoch') AS day,
       snapshot_type,
       action_type,
       status,
       count(*) AS n
FROM snapshot_rows
GROUP BY day, snapshot_type, action_type, status;
