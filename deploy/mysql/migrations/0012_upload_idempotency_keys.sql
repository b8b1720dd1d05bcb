-- One row per (owner, Idempotency-Key) an upload was sent with: a client that
-- lost the answer to POST /v1/uploads (a multi-GB body, a dropped connection)
-- and sends it again with the same key gets the request the first one started
-- instead of a second request, which would fail NAME_CONFLICT although its
-- image was stored. A failed request is replaced, so a key can be retried.
CREATE TABLE IF NOT EXISTS upload_idempotency_keys (
  user_login       VARCHAR(255) NOT NULL,
  idempotency_key  VARCHAR(255) NOT NULL,
  request_id       VARCHAR(64)  NOT NULL,
  created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_login, idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
