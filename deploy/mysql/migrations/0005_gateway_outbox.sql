-- Command events the gateway has accepted but Kafka has not confirmed yet: written
-- before the publish, deleted after it, re-sent by a sweep while the broker is away.
CREATE TABLE IF NOT EXISTS gateway_outbox (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  topic       VARCHAR(255)    NOT NULL,
  payload     LONGTEXT        NOT NULL,
  traceparent VARCHAR(64)     NULL,
  created_at  DATETIME(3)     NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
