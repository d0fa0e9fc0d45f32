-- Distinct titles, brands and category names for search-as-you-type, kept
-- by a trigger: a narrow table of distinct terms answers far faster than the
-- products table (many products share a title; categories need no unnest).
-- Terms of deleted products stay here; the suggestion query checks they
-- still have a live product.
-- +goose Up
CREATE TABLE suggest_terms (
    kind text NOT NULL CHECK (kind IN ('title', 'brand', 'category')),
    term text NOT NULL CHECK (term <> ''),
    PRIMARY KEY (kind, term)
);
CREATE INDEX suggest_terms_trgm_idx ON suggest_terms USING gin (term gin_trgm_ops);

CREATE INDEX suggest_terms_prefix_idx ON suggest_terms (lower(term) text_pattern_ops);
CREATE INDEX products_title_idx ON products (title);

INSERT INTO suggest_terms (kind, term)
    SELECT DISTINCT 'title', title FROM products
    UNION SELECT DISTINCT 'brand', brand FROM products WHERE brand <> ''
    UNION SELECT DISTINCT 'category', c FROM products, unnest(category) AS c WHERE c <> ''
    ON CONFLICT DO NOTHING;

-- +goose StatementBegin
CREATE FUNCTION vitrine_suggest_terms() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO suggest_terms (kind, term)
        SELECT 'title', NEW.title
        UNION SELECT 'brand', NEW.brand WHERE NEW.brand <> ''
        UNION SELECT 'category', c FROM unnest(NEW.category) AS c WHERE c <> ''
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER products_suggest_terms AFTER INSERT OR UPDATE OF title, brand, category ON products
    FOR EACH ROW EXECUTE FUNCTION vitrine_suggest_terms();

-- +goose Down
DROP TRIGGER products_suggest_terms ON products;
DROP FUNCTION vitrine_suggest_terms();
DROP TABLE suggest_terms;
DROP INDEX products_title_idx;
