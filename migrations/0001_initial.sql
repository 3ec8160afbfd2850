-- 0001: snapshots, their indexes, the full-text index, the mirror checkpoint
-- and the analytics views. Shipped: never edit; add a new migration instead.

-- One row per snapshot. `document` is the whole snapshot as compact JSON: it
-- is byte for byte the snapshot's line in action_log.jsonl, and its pretty
-- form is <snapshot_id>.json. The other columns are extracted from it when
-- it is written, for indexing.
CREATE TABLE snapshots (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,   -- insertion order, never reused
  snapshot_id   TEXT    NOT NULL UNIQUE,
  snapshot_type TEXT    NOT NULL CHECK (snapshot_type IN ('action', 'periodic')),
  ts_us         INTEGER NOT NULL,                    -- UTC microseconds since the epoch
  action_type   TEXT,                                -- NULL for periodic snapshots
  status        TEXT CHECK (status IN ('executing', 'completed', 'failed')),
  origin        TEXT    NOT NULL DEFAULT 'barrot' CHECK (origin IN ('barrot', 'import')),
  document      TEXT    NOT NULL,
  timestamp     TEXT GENERATED ALWAYS AS (json_extract(document, '$.timestamp')) VIRTUAL,
  details       TEXT GENERATED ALWAYS AS (json_extract(document, '$.action.details')) VIRTUAL,
  CHECK ((snapshot_type = 'action') = (action_type IS NOT NULL AND status IS NOT NULL))
);

CREATE INDEX snapshots_by_type_time   ON snapshots (snapshot_type, ts_us);
CREATE INDEX snapshots_by_action_time ON snapshots (action_type, ts_us);
CREATE INDEX snapshots_by_status_time ON snapshots (status, ts_us);

-- Snapshots are a record of what happened: they are never changed in place.
CREATE TRIGGER snapshots_are_immutable BEFORE UPDATE ON snapshots
BEGIN
  SELECT RAISE(ABORT, 'snapshots are immutable');
END;

-- Full-text index over action type and details (actions only). External
-- content: the text is not stored twice. Rows are indexed in batches, not
-- one transaction each (a per-row FTS5 update more than doubles the cost of
-- a write): every action with seq <= fts_state.indexed_seq is indexed, and
-- newer ones (at most a minute or 1000 rows of writes) are found by scanning.
CREATE VIRTUAL TABLE snapshots_fts USING fts5(
  action_type, details, content = 'snapshots', content_rowid = 'seq'
);

CREATE TABLE fts_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_seq INTEGER NOT NULL,
  updated_us  INTEGER NOT NULL
);
INSERT INTO fts_state (id, indexed_seq, updated_us) VALUES (1, 0, 0);

-- Only indexed rows may be removed from the index (FTS5 'delete' of a row it
-- never saw would corrupt it).
CREATE TRIGGER snapshots_fts_delete AFTER DELETE ON snapshots
WHEN old.snapshot_type = 'action'
 AND old.seq <= (SELECT indexed_seq FROM fts_state WHERE id = 1)
BEGIN
  INSERT INTO snapshots_fts (snapshots_fts, rowid, action_type, details)
  VALUES ('delete', old.seq, old.action_type, old.details);
END;

-- Every snapshot with seq <= `seq` is known to be mirrored, and its log line
-- lies before byte `log_offset` of the action_log.jsonl whose inode is
-- `log_inode`. Reconciliation after a crash looks only past this point.
CREATE TABLE mirror_checkpoint (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  seq        INTEGER NOT NULL,
  log_offset INTEGER NOT NULL,
  log_inode  INTEGER NOT NULL,
  updated_us INTEGER NOT NULL
);
INSERT INTO mirror_checkpoint (id, seq, log_offset, log_inode, updated_us) VALUES (1, 0, 0, 0, 0);

-- Analytics views (docs/sql.md).
CREATE VIEW actions AS
SELECT seq,
       snapshot_id,
       ts_us,
       timestamp,
       action_type,
       status,
       details,
       json_extract(document, '$.action.started_at')        AS started_at,
       json_extract(document, '$.action.start_snapshot_id') AS start_snapshot_id,
       origin
FROM snapshots
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
FROM snapshots
GROUP BY day, snapshot_type, action_type, status;
