-- The chart name each of an owner's image names becomes (lib chartNameOf).
-- Image names that differ only in what the chart name drops (`billing.api`
-- and `billing_api`, or long names alike in their first 53 characters) would
-- otherwise share one chart name in the owner's Helm repository, where `helm
-- pull <repo>/<chart> --version` can reach only one of them. Unique per owner,
-- so a second such name is refused even when two first uploads race. Null on
-- names from before, and on names a rebuild restored: the gateway fills it
-- the next time the owner names a new image.
ALTER TABLE image_names
  ADD COLUMN chart_name VARCHAR(63) NULL,
  ADD UNIQUE KEY uq_image_names_chart (user_login, chart_name);
