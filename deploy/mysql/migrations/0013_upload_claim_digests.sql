-- What a key-claimed upload was sent with: SHA-256 of its validated metadata
-- (canonical JSON) and of its content (the archive, or the registry
-- reference's text; null for a presigned completion, whose upload id names
-- its bytes). The same key sent again with another body is refused with 422
-- (draft-ietf-httpapi-idempotency-key-header) instead of answering with the
-- request the key started, which is another image or version than the
-- client now asks for. Null on claims from before: those are not compared.
ALTER TABLE upload_idempotency_keys
  ADD COLUMN metadata_sha256 CHAR(64) NULL,
  ADD COLUMN content_sha256 CHAR(64) NULL;
ALTER TABLE upload_completions
  ADD COLUMN metadata_sha256 CHAR(64) NULL,
  ADD COLUMN content_sha256 CHAR(64) NULL;
