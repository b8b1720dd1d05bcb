-- A transfer request's notes, as the caller gave them. With them a re-drive by
-- transfers:reconcile is the same request again, notes included (the
-- promotion ViewPort records keeps them), and a rebuild from nothing gives
-- them back from the promotion. Null for uploads and for transfers without notes.
ALTER TABLE viewport_requests
  ADD COLUMN notes TEXT NULL;
