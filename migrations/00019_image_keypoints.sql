-- Local features (SIFT keypoints and descriptors, extractors/keypoints'
-- encoding) of product images, the input of search by photo's geometric
-- verification of its top candidates (image.verify_top). They are derived
-- data of a view and do not depend on the image model: view is
-- 'catalog' for the product's first catalog image, else the reference of
-- an extra view (image_views.view); source as in image_views, so a set of
-- views and their keypoints are removed together.
-- +goose Up
CREATE TABLE image_keypoints (
    product_id text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    view       text NOT NULL,
    source     text NOT NULL DEFAULT '',
    data       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, view)
);
CREATE INDEX image_keypoints_source_idx ON image_keypoints (source);

-- +goose Down
DROP TABLE image_keypoints;
