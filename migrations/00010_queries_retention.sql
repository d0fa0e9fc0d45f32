-- The query log is pruned by age (server.query_retention): rows arrive in
-- time order, so a BRIN index on the time is tiny and enough.
-- +goose Up
CREATE INDEX queries_created_brin ON queries USING brin (created_at);

-- +goose Down
DROP INDEX queries_created_brin;
