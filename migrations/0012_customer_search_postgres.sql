-- PostgreSQL: the counts kept by a trigger, and the search through a pg_trgm index
-- (docs/architecture.md, "Customer list"). The extension is created before this runs
-- (store/migrate.rs), with advice for the database owner when the portal may not.

INSERT INTO customer_counts (tenant_id, status, acceptance, n)
SELECT tenant_id, status, CASE accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END, COUNT(*)
FROM customers
GROUP BY tenant_id, status, CASE accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END;

CREATE FUNCTION customers_acceptance_key(accepted BIGINT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE accepted WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END
$$;

CREATE FUNCTION customers_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE customer_counts SET n = n - 1
        WHERE tenant_id = OLD.tenant_id AND status = OLD.status
          AND acceptance = customers_acceptance_key(OLD.accepted_directly);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO customer_counts (tenant_id, status, acceptance, n)
        VALUES (NEW.tenant_id, NEW.status, customers_acceptance_key(NEW.accepted_directly), 1)
        ON CONFLICT (tenant_id, status, acceptance) DO UPDATE SET n = customer_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_counted AFTER INSERT OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_count();
CREATE TRIGGER customers_counted_again AFTER UPDATE OF status, accepted_directly ON customers
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.accepted_directly IS DISTINCT FROM NEW.accepted_directly)
    EXECUTE FUNCTION customers_count();

-- Searches of three characters or more: any part of `search_text`, through trigrams.
CREATE INDEX customers_by_search_trigrams ON customers USING gin (search_text gin_trgm_ops);
-- Searches of one or two characters: company names that begin with them, a range of
-- this index in byte order (the "C" collation), whatever the database's collation.
CREATE INDEX customers_by_search_prefix ON customers (tenant_id, search_text COLLATE "C");
