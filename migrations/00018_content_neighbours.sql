-- Each product's nearest products in a vector space (its content
-- neighbours, best first, with their cosine similarity), as the
-- recommendations' content leg searches them: a shopper's retrieval
-- afresh unions the lists of their most weighted recent products instead
-- of an HNSW search for their vector. Computed on first need (in the
-- background) and recomputed once older than recommend.content_lists_ttl;
-- derived data, so unlogged (lost on a crash, not replicated), and
-- dropped with its space.
-- +goose Up
CREATE UNLOGGED TABLE content_neighbours (
    space_version integer NOT NULL REFERENCES vector_spaces (version) ON DELETE CASCADE,
    product_id    text NOT NULL,
    neighbours    text[] NOT NULL,
    scores        real[] NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (space_version, product_id),
    CHECK (cardinality(neighbours) = cardinality(scores))
);

-- +goose Down
DROP TABLE content_neighbours;
