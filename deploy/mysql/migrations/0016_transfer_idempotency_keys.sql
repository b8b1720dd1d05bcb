-- One row per (caller, Idempotency-Key) a transfer was sent with, and what it
-- asked for: the image, version, target (as the chain spells it) and notes.
-- Identical asks already share one request through transfer_claims; this row
-- is what tells a key sent again with another ask (another version, another
-- target) from a repeat, so it is refused with 422 instead of starting a
-- second transfer, and a repeat is answered as a replay of the first. The
-- request it names is the one the ask was answered with (started, or already
-- under way). A failed or expired holder is replaced, as upload keys are.
-- Not restored by a rebuild from nothing: TransferRequested does not carry the key.
CREATE TABLE IF NOT EXISTS transfer_idempotency_keys (
  user_login       VARCHAR(255) NOT NULL,
  idempotency_key  VARCHAR(255) NOT NULL,
  request_id       VARCHAR(64)  NOT NULL,
  image_uid        CHAR(60)     NOT NULL,
  image_version    VARCHAR(128) NOT NULL,
  target_env       VARCHAR(32)  NOT NULL,
  notes            TEXT         NULL,
  created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_login, idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
