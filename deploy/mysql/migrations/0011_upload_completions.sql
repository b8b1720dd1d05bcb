-- One row per presigned upload that was completed: a repeated or concurrent
-- POST /v1/uploads/{id}/complete (a client retrying after a timeout) finds the
-- request the first one started instead of starting a second, which would fail
-- ALREADY_STORED although the image was stored. A failed request is replaced,
-- so the same staged image can be completed again with other metadata.
CREATE TABLE IF NOT EXISTS upload_completions (
  user_login  VARCHAR(255) NOT NULL,
  upload_id   CHAR(36)     NOT NULL,
  request_id  VARCHAR(64)  NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_login, upload_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
