-- Two more surfaces log impressions: frequently bought together
-- (GET /v1/products/{id}/together) and trending (GET /v1/trending).
-- +goose Up
ALTER TABLE impressions DROP CONSTRAINT impressions_surface_check;
ALTER TABLE impressions ADD CONSTRAINT impressions_surface_check
    CHECK (surface IN ('search', 'rank', 'recommendations', 'similar', 'image_search', 'together', 'trending'));

-- +goose Down
DELETE FROM impressions WHERE surface IN ('together', 'trending');
ALTER TABLE impressions DROP CONSTRAINT impressions_surface_check;
ALTER TABLE impressions ADD CONSTRAINT impressions_surface_check
    CHECK (surface IN ('search', 'rank', 'recommendations', 'similar', 'image_search'));
