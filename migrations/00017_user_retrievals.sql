-- A user's retrieved recommendation candidates, shared by every process:
-- what the hybrid (or content) retrieval found from the inputs whose
-- digest is stored beside it (model and space versions, pool, purchases,
-- latest events, vector, factors). A recommendation reads the row in the
-- batch that reads the user, and reuses it while the digest matches and
-- it is younger than recommend.cache_ttl; the servers refresh it in the
-- background when the user's events arrive. Derived data, rebuilt on a
-- miss: unlogged (lost on a crash, not replicated), and erased with the
-- user.
-- +goose Up
CREATE UNLOGGED TABLE user_retrievals (
    user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    digest  bytea NOT NULL,
    payload bytea NOT NULL,
    at      timestamptz NOT NULL
);
-- Floats do not compress: stored out of line without trying.
ALTER TABLE user_retrievals ALTER COLUMN payload SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE user_retrievals;
