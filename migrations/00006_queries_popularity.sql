-- Logged search queries (for popular-query suggestions; erased with their
-- user) and per-product interaction counters for the popularity prior.
-- +goose Up
CREATE TABLE queries (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text REFERENCES users (id) ON DELETE CASCADE,
    query      text NOT NULL CHECK (query <> '' AND length(query) <= 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queries_user_idx ON queries (user_id);
CREATE INDEX queries_text_trgm_idx ON queries USING gin (lower(query) gin_trgm_ops);

-- +goose Down
DROP TABLE queries;
