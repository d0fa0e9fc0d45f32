-- Collaborative-filtering models: one row per training, with item and user
-- factors in pgvector (inner product = score). A user's factors go with the
-- user (erasure); the next training leaves their events out too.
-- +goose Up
CREATE TABLE cf_models (
    version       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    method        text NOT NULL,
    params        jsonb NOT NULL DEFAULT '{}',
    dim           integer NOT NULL CHECK (dim BETWEEN 1 AND 2000),
    gram          float8[] NOT NULL,          -- YᵀY + λI, for folding in new users
    interactions  bigint NOT NULL,
    users         integer NOT NULL,
    items         integer NOT NULL,
    train_seconds double precision NOT NULL,
    trained_at    timestamptz NOT NULL DEFAULT now(),
    active        boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX cf_models_one_active_idx ON cf_models ((true)) WHERE active;

CREATE TABLE item_factors (
    model_version integer NOT NULL REFERENCES cf_models (version) ON DELETE CASCADE,
    product_id    text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    factors       vector NOT NULL,
    PRIMARY KEY (model_version, product_id)
);

CREATE TABLE user_factors (
    model_version integer NOT NULL REFERENCES cf_models (version) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    factors       vector NOT NULL,
    PRIMARY KEY (model_version, user_id)
);

-- +goose Down
DROP TABLE user_factors;
DROP TABLE item_factors;
DROP TABLE cf_models;
