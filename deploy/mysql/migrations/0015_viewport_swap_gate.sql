-- The gate between the live projector and a rebuild's swap. Every live projector
-- transaction passes its one row (a shared lock) before it touches the
-- projection; `viewport:rebuild` holds the row exclusively while it brings its
-- shadow level with the live tables and swaps them in. Without it the swap put
-- in tables a few seconds behind the live ones: succeeded images answered 404
-- until the tail was applied again. Not a projection table: never swapped.
CREATE TABLE IF NOT EXISTS viewport_swap_gate (
  id TINYINT UNSIGNED NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
INSERT IGNORE INTO viewport_swap_gate (id) VALUES (1);
