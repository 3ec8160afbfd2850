-- 0007: the full-text index reads details as text, not as JSON source.
-- Shipped: never edit; add a new migration instead.
--
-- Until now the index tokenized each action's details as compact JSON, so
-- an escape stuck to the word after it: "line1\nline2" gave the tokens
-- line1 and nline2, and a word after a newline or a tab (a stack trace, a
-- command's output) could not be found. The index now reads fts_text: every
-- key and every value of the details, decoded, in document order (true,
-- false and null by name). `barrot search` scans the rows not yet indexed
-- through the same view, so both see the same words.

CREATE VIEW fts_text AS
SELECT seq,
       snapshot_type,
       action_type,
       (SELECT group_concat(
                 CASE WHEN typeof(key) = 'text' THEN key ELSE '' END || ' ' ||
                 CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                           WHEN 'null' THEN 'null' WHEN 'object' THEN ''
                           WHEN 'array' THEN '' ELSE atom END, ' ')
        FROM json_tree(snapshot_rows.details)) AS details
FROM snapshot_rows;

DROP TRIGGER snapshots_fts_delete;
DROP TABLE snapshots_fts;

CREATE VIRTUAL TABLE snapshots_fts USING fts5(
  action_type, details, content = 'fts_text', content_rowid = 'seq'
);

-- As before, every action with seq <= fts_state.indexed_seq is indexed: the
-- new index is built here from the rows the old one held.
INSERT INTO snapshots_fts (rowid, action_type, details)
SELECT seq, action_type, details FROM fts_text
WHERE snapshot_type = 'action' AND seq <= (SELECT indexed_seq FROM fts_state WHERE id = 1);

-- Only indexed rows may be removed from the index, with the text they were
-- indexed with (the view's, for the deleted row).
CREATE TRIGGER snapshots_fts_delete AFTER DELETE ON snapshot_rows
WHEN old.snapshot_type = 'action'
 AND old.seq <= (SELECT indexed_seq FROM fts_state WHERE id = 1)
BEGIN
  INSERT INTO snapshots_fts (snapshots_fts, rowid, action_type, details)
  VALUES ('delete', old.seq, old.action_type,
          (SELECT group_concat(
                    CASE WHEN typeof(key) = 'text' THEN key ELSE '' END || ' ' ||
                    CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                              WHEN 'null' THEN 'null' WHEN 'object' THEN ''
                              WHEN 'array' THEN '' ELSE atom END, ' ')
           FROM json_tree(old.details)));
END;
