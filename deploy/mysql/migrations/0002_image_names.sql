-- The gateway assigns one image UID per (owner, image name), atomically:
-- INSERT IGNORE then SELECT, so two concurrent first uploads get the same UID.
CREATE TABLE IF NOT EXISTS image_names (
  user_login  VARCHAR(255) NOT NULL,
  image_name  VARCHAR(255) NOT NULL,
  image_uid   CHAR(60)     NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_login, image_name),
  UNIQUE KEY uq_image_names_uid (image_uid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
