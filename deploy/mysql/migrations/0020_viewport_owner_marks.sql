-- One mark per owner, a new value each time the projector commits a change to what that owner's images
-- show (their posts, meta or UID rows), written in the same transaction as the change. The gateway keeps an
-- owner's Helm index.yaml while the owner's mark stays: keyed by ViewPort as a whole (the applied offsets), any
-- upload by anyone rendered every owner's index again on its next poll, seconds for an owner of 10 000 charts
-- (found by a scale review). UUID_SHORT() values: unique and increasing on the server, so a mark a rebuild
-- writes never equals one handed out before it. No row: an owner nothing was projected for. Part of the
-- projection (a rebuild writes its own and swaps it in), but not of its checksum: the values differ by design.
CREATE TABLE IF NOT EXISTS viewport_owner_marks (
  user_login  VARCHAR(255)    NOT NULL PRIMARY KEY,
  mark        BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
