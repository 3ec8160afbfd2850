-- 0004: the hash chain (docs/integrity.md). Shipped: never edit; add a new
-- migration instead.
--
-- Every snapshot, in seq order, is linked to the one before it:
--   hash = sha256(lower(hex(chain_prev)) || document)
-- where `document` is the `snapshots` view's column and chain_prev is the
-- previous snapshot's hash (32 zero bytes for the first one chained). A
-- row stores its prev; its own hash is the next row's prev (SQLite has no
-- SHA-256 function to store it by). The upgrade fills chain_prev for the
-- rows already here, oldest seq first, in the same transaction (Barrot does
-- it in code, right after this script).

ALTER TABLE snapshot_rows ADD COLUMN chain_prev BLOB
  CHECK (chain_prev IS NULL OR (typeof(chain_prev) = 'blob' AND length(chain_prev) = 32));

-- Rows are still never changed, except that the upgrade sets chain_prev
-- once on rows that had none.
DROP TRIGGER snapshots_are_immutable;
CREATE TRIGGER snapshots_are_immutable BEFORE UPDATE ON snapshot_rows
WHEN old.chain_prev IS NOT NULL
  OR new.seq IS NOT old.seq
  OR new.snapshot_id IS NOT old.snapshot_id
  OR new.snapshot_type IS NOT old.snapshot_type
  OR new.ts_us IS NOT old.ts_us
  OR new.action_type IS NOT old.action_type
  OR new.status IS NOT old.status
  OR new.origin IS NOT old.origin
  OR new.details IS NOT old.details
  OR new.started_us IS NOT old.started_us
  OR new.start_snapshot_id IS NOT old.start_snapshot_id
  OR new.document IS NOT old.document
BEGIN
  SELECT RAISE(ABORT, 'snapshots are immutable');
END;

-- The chain record of the newest (by seq) snapshot that left the store by
-- archiving, when it was newer than every row left: the next snapshot
-- links to it. Written by barrot-archive only.
CREATE TABLE chain_tail (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  seq         INTEGER NOT NULL,
  snapshot_id TEXT    NOT NULL,
  hash        BLOB    NOT NULL CHECK (length(hash) = 32)
);

-- The view of 0003, with each row's chain_prev as its last column.
DROP VIEW snapshots;
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
       details,
       chain_prev
FROM snapshot_rows;

-- Each snapshot's link, for SQL: its prev as sha256sum prints hashes.
CREATE VIEW snapshot_chain AS
SELECT seq, snapshot_id, lower(hex(chain_prev)) AS prev
FROM snapshot_rows;
