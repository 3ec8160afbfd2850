-- 0005: one index fewer to write for every action. Shipped: never edit; add
-- a new migration instead.
--
-- Each index a row enters is one more page, and so one more WAL frame, in
-- the commit of a single snapshot: about 17 us on ext4 (docs/performance.md).
-- The (snapshot_type, ts_us) index served two kinds of query:
--   - periodic snapshots by time (the latest one, the gaps between them):
--     now a partial index that holds the periodic rows alone, one entry
--     every 30 minutes instead of one per action;
--   - actions by time with no narrower filter: (ts_us) serves them, the type
--     checked on the row that is read anyway. Nearly every row is an action.
-- It also drew the planner away from better indexes when a query named the
-- type beside an action type or status (docs/sql.md); the partial index
-- matches only a query that asks for periodic snapshots.

DROP INDEX snapshots_by_type_time;
CREATE INDEX snapshots_periodic_by_time ON snapshot_rows (ts_us)
WHERE snapshot_type = 'periodic';
