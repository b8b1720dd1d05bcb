-- ViewportUpdated events written in the same transaction as the projection they
-- announce, published after the commit and then deleted: a projector that dies
-- between its commit and the publish leaves them here for the next drain.
CREATE TABLE IF NOT EXISTS viewport_outbox (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event_id    CHAR(36)        NOT NULL,
  payload     LONGTEXT        NOT NULL,
  traceparent VARCHAR(64)     NULL,
  created_at  DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_viewport_outbox_event (event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
