-- Per-model embeddings (kept so re-weighting a fusion never re-runs a model)
-- and fused product vectors per versioned vector space.
-- +goose Up
CREATE TABLE embeddings (
    product_id  text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    model       text NOT NULL,  -- manifest name@version
    modality    text NOT NULL CHECK (modality IN ('text', 'image', 'audio')),
    input_hash  bytea NOT NULL, -- hash of the encoded input: same input, no re-encode
    embedding   vector NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, model)
);
CREATE INDEX embeddings_model_idx ON embeddings (model);

-- A space is (models, fusion strategy, weights, dimension). Backfill builds
-- a new one beside the active one; activation is one transaction.
CREATE TABLE vector_spaces (
    version      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    spec         jsonb NOT NULL CHECK (jsonb_typeof(spec) = 'object'),
    dim          integer NOT NULL,
    storage      text NOT NULL CHECK (storage IN ('vector', 'halfvec')),
    state        text NOT NULL DEFAULT 'building'
                 CHECK (state IN ('building', 'ready', 'active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    -- pgvector's HNSW limits: vector up to 2,000 dimensions, halfvec 4,000.
    CHECK ((storage = 'vector' AND dim BETWEEN 1 AND 2000)
        OR (storage = 'halfvec' AND dim BETWEEN 1 AND 4000))
);
CREATE UNIQUE INDEX vector_spaces_one_active_idx ON vector_spaces ((true)) WHERE state = 'active';

-- Each space gets its own partial HNSW index on a typed cast of the column
-- (created by the store with the space), so spaces of different dimensions
-- share one table.
CREATE TABLE product_vectors (
    space_version  integer NOT NULL REFERENCES vector_spaces (version) ON DELETE CASCADE,
    product_id     text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    embedding      vector,
    embedding_half halfvec,
    source_hash    bytea NOT NULL, -- hash of the inputs fused: unchanged, no re-fuse
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (space_version, product_id),
    CHECK ((embedding IS NULL) <> (embedding_half IS NULL))
);
CREATE INDEX product_vectors_product_idx ON product_vectors (product_id);

-- +goose Down
DROP TABLE product_vectors;
DROP TABLE vector_spaces;
DROP TABLE embeddings;
