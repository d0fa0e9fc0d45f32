-- API keys: only a SHA-256 of the secret is stored. Secrets are 256-bit
-- random values, so a fast hash is enough (no password stretching needed).
-- +goose Up
CREATE TABLE api_keys (
    id           text PRIMARY KEY,          -- public part, shown in listings
    name         text NOT NULL DEFAULT '',
    secret_hash  bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0
                                        AND scopes <@ ARRAY['read', 'write', 'admin']::text[]),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- +goose Down
DROP TABLE api_keys;
