-- The products change log: every insert, update, soft delete and delete
-- of a product appends a sequence-numbered row in the same transaction,
-- and wakes listeners with NOTIFY vitrine_product_changes (one per
-- transaction: PostgreSQL folds identical notifications). Derived copies
-- of the catalog (the in-memory lexical index of every API process) read
-- the rows after the last sequence number they applied and re-read those
-- products, so applying a change twice is harmless.
--
-- Sequence numbers are taken at write time but become visible at commit,
-- so a reader can see 7 before 6 commits: readers keep the gaps they saw
-- and re-read them until they fill or grow old (a rolled back write
-- leaves a permanent gap).
-- +goose Up
CREATE TABLE product_changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id text NOT NULL,
    deleted    boolean NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX product_changes_changed_at_idx ON product_changes (changed_at);

-- +goose StatementBegin
CREATE FUNCTION vitrine_product_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO product_changes (product_id, deleted) VALUES (OLD.id, true);
    ELSE
        INSERT INTO product_changes (product_id, deleted) VALUES (NEW.id, NEW.deleted_at IS NOT NULL);
    END IF;
    PERFORM pg_notify('vitrine_product_changes', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER products_changed AFTER INSERT OR UPDATE OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION vitrine_product_changed();

-- +goose Down
DROP TRIGGER products_changed ON products;
DROP FUNCTION vitrine_product_changed();
DROP TABLE product_changes;
