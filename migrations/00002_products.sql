-- Products: the catalog as ingested, with a content hash so an unchanged
-- product is neither rewritten nor re-encoded, and soft delete so events
-- keep pointing at something.
-- +goose Up
-- +goose StatementBegin
-- array_to_string is only STABLE in general, but for text[] it is
-- deterministic; generated columns need an IMMUTABLE function.
CREATE FUNCTION vitrine_join_text(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT array_to_string($1, ' ') $$;
-- +goose StatementEnd

CREATE TABLE products (
    id           text PRIMARY KEY CHECK (id <> '' AND length(id) <= 256),
    title        text NOT NULL CHECK (title <> ''),
    description  text NOT NULL DEFAULT '',
    brand        text NOT NULL DEFAULT '',
    category     text[] NOT NULL DEFAULT '{}',     -- path, root first
    price        numeric(14, 4) CHECK (price >= 0),
    currency     text CHECK (currency ~ '^[A-Z]{3}$'),
    attributes   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    media        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(media) = 'array'),
    content_hash bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    search       tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', brand), 'B') ||
        setweight(to_tsvector('english', vitrine_join_text(category)), 'B') ||
        setweight(to_tsvector('english', description), 'C')
    ) STORED
);

CREATE INDEX products_search_idx ON products USING gin (search);
CREATE INDEX products_title_trgm_idx ON products USING gin (title gin_trgm_ops);
CREATE INDEX products_brand_trgm_idx ON products USING gin (brand gin_trgm_ops);
CREATE INDEX products_category_idx ON products USING gin (category);
CREATE INDEX products_brand_idx ON products (brand);
CREATE INDEX products_price_idx ON products (price);
CREATE INDEX products_attributes_idx ON products USING gin (attributes jsonb_path_ops);

-- +goose Down
DROP TABLE products;
DROP FUNCTION vitrine_join_text(text[]);
