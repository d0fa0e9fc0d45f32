-- Popularity of each product, kept by statement triggers on events, so the
-- popularity prior of recommendations is an index scan instead of an
-- aggregate over every recent event on each request (1.4 s a request at a
-- million events).
--
-- Popularity decays exponentially with a 30-day half-life. Rather than
-- decaying every row as time passes, an event at time t adds
-- w * 2^((t - epoch) / half-life): every stored score carries the same
-- factor 2^((now - epoch) / half-life), so the stored order is the decayed
-- order at any moment and the decayed value is one multiplication away
-- (PopularProducts). float8 holds the factor for centuries. Weights:
-- purchase 5, add to cart 3, rating 2, click 1, view 0.5. Events are
-- append-only; deleting them (erasing a user, deleting a product)
-- subtracts exactly what they added.
-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION vitrine_popularity_factor(at timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT power(2::double precision,
        extract(epoch FROM at - '2026-01-01 00:00:00+00'::timestamptz)::double precision / (30 * 86400))
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION vitrine_popularity_weight(t text, at timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE t WHEN 'purchase' THEN 5 WHEN 'add_to_cart' THEN 3 WHEN 'click' THEN 1
        WHEN 'rating' THEN 2 ELSE 0.5 END)::double precision * vitrine_popularity_factor(at)
$$;
-- +goose StatementEnd

CREATE TABLE product_popularity (
    product_id text PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    score      double precision NOT NULL -- in epoch units, see above
);
CREATE INDEX product_popularity_score_idx ON product_popularity (score DESC, product_id);

-- +goose StatementBegin
CREATE FUNCTION vitrine_popularity_add() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted, so concurrent statements lock shared rows in one order.
    INSERT INTO product_popularity (product_id, score)
        SELECT product_id, sum(vitrine_popularity_weight(type, occurred_at))
        FROM new_events GROUP BY product_id ORDER BY product_id
        ON CONFLICT (product_id) DO UPDATE SET score = product_popularity.score + EXCLUDED.score;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION vitrine_popularity_sub() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_popularity p SET score = p.score - d.score
        FROM (SELECT product_id, sum(vitrine_popularity_weight(type, occurred_at)) AS score
              FROM old_events GROUP BY product_id) d
        WHERE p.product_id = d.product_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_popularity_add AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION vitrine_popularity_add();
CREATE TRIGGER events_popularity_sub AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION vitrine_popularity_sub();

INSERT INTO product_popularity (product_id, score)
    SELECT product_id, sum(vitrine_popularity_weight(type, occurred_at)) FROM events GROUP BY product_id;

-- +goose Down
DROP TRIGGER events_popularity_sub ON events;
DROP TRIGGER events_popularity_add ON events;
DROP FUNCTION vitrine_popularity_sub();
DROP FUNCTION vitrine_popularity_add();
DROP TABLE product_popularity;
DROP FUNCTION vitrine_popularity_weight(text, timestamptz);
DROP FUNCTION vitrine_popularity_factor(timestamptz);
