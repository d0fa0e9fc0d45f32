-- Per-item neighbour lists of a trained model's item-based method
-- (item-kNN, RP3beta, EASE, transitions): each product's top similar or
-- next products with their scores, best first. Serving sums the lists of a
-- user's recent products (weighted as the method does) when the model's
-- chosen method is item-based or a blend including one.
-- +goose Up
CREATE TABLE item_neighbours (
    model_version integer NOT NULL REFERENCES cf_models (version) ON DELETE CASCADE,
    method        text NOT NULL,
    product_id    text NOT NULL,
    neighbours    text[] NOT NULL,
    scores        real[] NOT NULL,
    PRIMARY KEY (model_version, method, product_id),
    CHECK (cardinality(neighbours) = cardinality(scores))
);

-- +goose Down
DROP TABLE item_neighbours;
