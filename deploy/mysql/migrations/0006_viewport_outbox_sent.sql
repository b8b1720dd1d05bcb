-- Published ViewportUpdated events are kept (sent_at set) for a while instead of
-- deleted at once: a message applied a second time (a rebuild's tail re-applies
-- what the live projector already announced during the replay) queues the same
-- event id, and INSERT IGNORE then finds it already sent instead of sending it
-- again. The projector prunes sent rows after their retention.
-- Plain ALTER (no IF NOT EXISTS): migrations run once, and MySQL has no such clause.
ALTER TABLE viewport_outbox
  ADD COLUMN sent_at DATETIME(3) NULL,
  ADD KEY ix_viewport_outbox_sent (sent_at, id);
