-- Erasure tombstones. Forgetting a user deletes their rows at once, but
-- another API server may still hold lists it served them in its impression
-- write buffer (up to impressions.flush_every, plus retries). Each erasure
-- leaves the SHA-256 of the user id here (not the id itself) for a day;
-- impression writes drop rows of a tombstoned user served before the
-- erasure, so nothing of theirs comes back.
-- +goose Up
CREATE TABLE forgotten_users (
    user_hash    bytea PRIMARY KEY,
    forgotten_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE forgotten_users;
