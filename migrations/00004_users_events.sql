-- Users, their append-only events and their online-updated vectors.
-- +goose Up
CREATE TABLE users (
    id         text PRIMARY KEY CHECK (id <> '' AND length(id) <= 256),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_event_id text NOT NULL CHECK (client_event_id <> '' AND length(client_event_id) <= 128),
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id      text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    type            text NOT NULL CHECK (type IN ('view', 'click', 'add_to_cart', 'purchase', 'rating')),
    value           real,          -- the rating, for type = 'rating' only
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'rating') = (value IS NOT NULL))
);
-- Idempotency: a client event id counts once per user.
CREATE UNIQUE INDEX events_client_event_idx ON events (user_id, client_event_id);
CREATE INDEX events_user_time_idx ON events (user_id, occurred_at DESC);
CREATE INDEX events_product_idx ON events (product_id);

-- +goose StatementBegin
CREATE FUNCTION vitrine_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION vitrine_events_append_only();

CREATE TABLE user_vectors (
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    space_version  integer NOT NULL REFERENCES vector_spaces (version) ON DELETE CASCADE,
    embedding      vector,
    embedding_half halfvec,
    weight         double precision NOT NULL DEFAULT 0, -- decayed sum of event weights
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, space_version),
    CHECK ((embedding IS NULL) <> (embedding_half IS NULL))
);

-- +goose Down
DROP TABLE user_vectors;
DROP TRIGGER events_append_only ON events;
DROP FUNCTION vitrine_events_append_only();
DROP TABLE events;
DROP TABLE users;
