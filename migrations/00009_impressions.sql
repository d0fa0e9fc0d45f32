-- Impressions: one row per list the API served (search, rank,
-- recommendations, similar products, search by photo), with the A/B
-- variant that produced it, for online metrics (`vitrine eval online`).
--
-- The id is a UUID (version 7, time-ordered) minted by the API before the
-- row is written, because rows are written in batches after the response
-- has gone out carrying it. A named user is created if needed, as events
-- do, so erasing the user (DELETE FROM users) cascades to their
-- impressions. Anonymous lists have no user_id.
--
-- Retention: rows older than impressions.retention (90 days by default)
-- are deleted by `vitrine serve` once an hour. Events keep the
-- impression_id they were sent with even after the impression is gone.
-- +goose Up
CREATE TABLE impressions (
    id          uuid PRIMARY KEY,
    user_id     text REFERENCES users (id) ON DELETE CASCADE,
    surface     text NOT NULL CHECK (surface IN ('search', 'rank', 'recommendations', 'similar', 'image_search')),
    experiment  text NOT NULL DEFAULT '',   -- '' when no experiment ran
    variant     text NOT NULL DEFAULT '',
    product_ids text[] NOT NULL,            -- in served order
    served_at   timestamptz NOT NULL
);
-- Window attribution: a user's impressions in time order.
CREATE INDEX impressions_user_time_idx ON impressions (user_id, served_at) WHERE user_id IS NOT NULL;
-- Reports and retention scan by time; rows arrive in time order, so a
-- BRIN index is tiny and enough.
CREATE INDEX impressions_served_brin ON impressions USING brin (served_at);

-- Events may name the impression they came from (exact attribution). No
-- foreign key: the impression may still be in a server's write buffer
-- when the event arrives, and impressions expire before events do.
ALTER TABLE events ADD COLUMN impression_id uuid;
CREATE INDEX events_impression_idx ON events (impression_id) WHERE impression_id IS NOT NULL;

-- +goose Down
DROP INDEX events_impression_idx;
ALTER TABLE events DROP COLUMN impression_id;
DROP TABLE impressions;
