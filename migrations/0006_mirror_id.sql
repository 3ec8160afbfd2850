-- 0006: which snapshots directory is this store's mirror. Shipped: never
-- edit; add a new migration instead.
--
-- store_id is the store's own random id, made here once (a copy of the
-- database file keeps it). mirror_id is made each time a directory becomes
-- the store's mirror ('' until then). That directory holds both, as
-- "<store_id> <mirror_id>", in .barrot/mirror-id. A read-write open with a
-- directory that holds another pair, or none once mirror_id is set, is
-- refused, so that one database is never mirrored into two directories,
-- nor two databases into one (docs/formats.md, "The .barrot folder").

ALTER TABLE mirror_checkpoint ADD COLUMN store_id TEXT NOT NULL DEFAULT '';
ALTER TABLE mirror_checkpoint ADD COLUMN mirror_id TEXT NOT NULL DEFAULT '';
UPDATE mirror_checkpoint SET store_id = lower(hex(randomblob(16)));
