-- GET /v1/requests lists a caller's requests, newest first, a page at a time:
-- this index answers it without reading anyone else's rows.
CREATE INDEX ix_viewport_requests_user ON viewport_requests (user_login, created_at, request_id);
