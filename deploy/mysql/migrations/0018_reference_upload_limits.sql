-- What caps one owner's uploads by reference under way at once (ORBIT_MAX_PENDING_REFERENCE_UPLOADS):
-- a pull from a slow registry holds its Kafka partition and one of the validator's few detached handlers,
-- so one owner's slow references held up every other owner's uploads (found by a race review).
-- The gateway writes both tables in the transaction that accepts such an upload, and reads them there.

-- One row per owner who has sent an upload by reference: the row every acceptance of one of theirs locks
-- first, so two sent at once cannot both take the last place.
CREATE TABLE IF NOT EXISTS reference_upload_owners (
  user_login  VARCHAR(255) NOT NULL PRIMARY KEY
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per accepted upload by reference, until its request (viewport_requests, by request_id) is seen
-- finished at a later acceptance of the owner's: whether it is finished is read from viewport_requests.
-- Not restored by a rebuild from nothing (the projection does not hold it): rows it lacks only count less.
CREATE TABLE IF NOT EXISTS reference_uploads (
  request_id  VARCHAR(64)  NOT NULL PRIMARY KEY,
  user_login  VARCHAR(255) NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_reference_uploads_user (user_login, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
