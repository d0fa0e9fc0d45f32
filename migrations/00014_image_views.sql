-- Extra views of products for search by photo: besides the catalog images
-- (averaged into the product's row of embeddings), a product may have
-- more photos, e.g. shoppers' photos from reviews, each embedded by an
-- image model and matched on its own (search takes the best view of each
-- product). source names where a set of views came from, so it can be
-- replaced or removed as a whole.
-- +goose Up
CREATE TABLE image_views (
    product_id text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    model      text NOT NULL,  -- manifest name@version
    view       text NOT NULL,  -- the photo's reference (path or URL)
    source     text NOT NULL DEFAULT '',
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, product_id, view)
);
CREATE INDEX image_views_source_idx ON image_views (model, source);

-- +goose Down
DROP TABLE image_views;
