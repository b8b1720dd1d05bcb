-- What caps the uploads by reference under way at once from one source registry, every owner's together
-- (ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY): each owner under their own limit (0018), six owners'
-- slow references to one registry still took every one of the validator's detached handlers, and held
-- other users' uploads 24-47 s (found by a review). The gateway writes and reads both in the transaction
-- that accepts such an upload, as 0018's.

-- The registry an upload by reference is pulled from, in the gateway's one name for it (docker.io for
-- index.docker.io, no default port, IPv6 per RFC 5952). Null on rows from before: their registry is
-- unknown, so they count for their owner only, and lapse within a day as every row does.
ALTER TABLE reference_uploads
  ADD COLUMN registry VARCHAR(255) NULL,
  ADD KEY ix_reference_uploads_registry (registry, created_at);

-- One row per registry an upload by reference has named: the row every acceptance of one from it locks
-- (after its owner's row), so two sent at once cannot both take the registry's last place.
CREATE TABLE IF NOT EXISTS reference_upload_registries (
  registry  VARCHAR(255) NOT NULL PRIMARY KEY
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
