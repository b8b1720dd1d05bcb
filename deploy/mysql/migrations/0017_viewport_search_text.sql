-- The search copy of each image's and version's description and category: Unicode-normalised (NFKC, format
-- characters out; lib/src/search-text.ts) by the projector, which GET /v1/images?q=&category=
-- compares, while post_content and the meta keep the text byte for byte as it was sent. A macOS client's decomposed
-- "Béla" and a composed one were two words to the collation, which compares code point by code point.
-- NULL on rows projected before this migration: SQL cannot normalise, so the gateway compares those by their raw text
-- until the projector's backfill (search-backfill.ts, at its start) or a `npm run viewport:rebuild` writes the copy.
ALTER TABLE wp_posts
  ADD COLUMN search_description LONGTEXT NULL,
  ADD COLUMN search_category    TEXT     NULL;
