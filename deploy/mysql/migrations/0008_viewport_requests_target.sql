-- A transfer request's target environment. With it a rebuild can restore the
-- gateway's transfer claims from the history when the database was lost (a
-- rebuild "from nothing"); the gateway writes it when it accepts a transfer,
-- the projector from the promotion. Null for uploads.
-- Plain ALTER (no IF NOT EXISTS): migrations run once, and MySQL has no such clause.
ALTER TABLE viewport_requests
  ADD COLUMN target_env VARCHAR(32) NULL;
