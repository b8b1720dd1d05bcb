-- ViewPort (C32): the MySQL projection of every image's lifecycle.
-- Re-runnable: a crash between this DDL and its schema_migrations row must not break the next run.

-- One row per image: the 60-character UID and the WordPress-like post that describes it.
CREATE TABLE IF NOT EXISTS wp_image_uid (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  image_uid     CHAR(60)        NOT NULL,
  post_id       BIGINT UNSIGNED NOT NULL,
  user_login    VARCHAR(255)    NOT NULL,
  image_name    VARCHAR(255)    NOT NULL,
  created_at    DATETIME(3)     NOT NULL,
  updated_at    DATETIME(3)     NOT NULL,
  UNIQUE KEY uq_wp_image_uid_image_uid (image_uid),
  KEY ix_wp_image_uid_post (post_id),
  KEY ix_wp_image_uid_user (user_login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Images (post_type orbit_image) and their versions (orbit_image_version, post_parent = image).
CREATE TABLE IF NOT EXISTS wp_posts (
  ID                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  post_author       VARCHAR(255)    NOT NULL,
  post_date_gmt     DATETIME(3)     NOT NULL,
  post_modified_gmt DATETIME(3)     NOT NULL,
  post_title        VARCHAR(255)    NOT NULL,
  post_name         VARCHAR(255)    NOT NULL,
  post_content      LONGTEXT        NOT NULL,
  post_excerpt      TEXT            NOT NULL,
  post_status       VARCHAR(32)     NOT NULL,
  post_parent       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  post_type         VARCHAR(32)     NOT NULL,
  guid              VARCHAR(255)    NOT NULL,
  UNIQUE KEY uq_wp_posts_guid (guid),
  KEY ix_wp_posts_type_status (post_type, post_status),
  KEY ix_wp_posts_parent (post_parent),
  KEY ix_wp_posts_author (post_author)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS wp_postmeta (
  meta_id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  post_id    BIGINT UNSIGNED NOT NULL,
  meta_key   VARCHAR(255)    NOT NULL,
  meta_value LONGTEXT        NULL,
  UNIQUE KEY uq_wp_postmeta_post_key (post_id, meta_key),
  KEY ix_wp_postmeta_key (meta_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Request status the gateway answers GET /v1/requests/{id} from.
CREATE TABLE IF NOT EXISTS viewport_requests (
  request_id     VARCHAR(64)  NOT NULL PRIMARY KEY,
  kind           VARCHAR(16)  NOT NULL,
  image_uid      CHAR(60)     NOT NULL,
  image_version  VARCHAR(128) NULL,
  user_login     VARCHAR(255) NOT NULL,
  status         VARCHAR(16)  NOT NULL,
  error_code     VARCHAR(64)  NULL,
  error_message  TEXT         NULL,
  error_pid      VARCHAR(64)  NULL,
  created_at     DATETIME(3)  NOT NULL,
  updated_at     DATETIME(3)  NOT NULL,
  KEY ix_viewport_requests_image (image_uid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Kafka offsets whose effects are in this database, written in the same
-- transaction as the projection: a redelivered message is recognised and skipped.
CREATE TABLE IF NOT EXISTS viewport_applied_offsets (
  consumer_group  VARCHAR(255) NOT NULL,
  topic           VARCHAR(255) NOT NULL,
  kafka_partition INT          NOT NULL,
  next_offset     BIGINT       NOT NULL,
  updated_at      DATETIME(3)  NOT NULL,
  PRIMARY KEY (consumer_group, topic, kafka_partition)
) ENGINE=InnoDB;
