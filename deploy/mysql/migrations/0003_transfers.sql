-- One row per (image, version, target environment) being or having been promoted:
-- concurrent or repeated transfer requests find the same row and share its request.
CREATE TABLE IF NOT EXISTS transfer_claims (
  image_uid       CHAR(60)     NOT NULL,
  image_version   VARCHAR(128) NOT NULL,
  target_env      VARCHAR(32)  NOT NULL,
  request_id      VARCHAR(64)  NOT NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (image_uid, image_version, target_env)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
