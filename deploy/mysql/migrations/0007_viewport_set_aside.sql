-- Messages the projector set aside (dead-lettered, or passed over in a rebuild),
-- written in the same transaction that marks their offset applied. A chart event
-- whose version's ImageStored is here is set aside too instead of waiting for it
-- (and holding its partition) until the letter is re-driven. Part of the
-- projection: a rebuild writes its own and swaps it in with the offsets.
CREATE TABLE IF NOT EXISTS viewport_set_aside (
  consumer_group  VARCHAR(255) NOT NULL,
  topic           VARCHAR(255) NOT NULL,
  kafka_partition INT          NOT NULL,
  kafka_offset    BIGINT       NOT NULL,
  version_guid    VARCHAR(255) NULL,
  error_code      VARCHAR(64)  NOT NULL,
  set_aside_at    DATETIME(3)  NOT NULL,
  PRIMARY KEY (consumer_group, topic, kafka_partition, kafka_offset),
  KEY ix_viewport_set_aside_version (version_guid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
