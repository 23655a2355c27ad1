-- SQLite: the counts kept by triggers, and the search through an FTS5 trigram index
-- (docs/architecture.md, "Customer list").

INSERT INTO customer_counts (tenant_id, status, acceptance, n)
SELECT tenant_id, status, CASE accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END, COUNT(*)
FROM customers
GROUP BY tenant_id, status, CASE accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END;

CREATE TRIGGER customers_counted_in AFTER INSERT ON customers BEGIN
    INSERT INTO customer_counts (tenant_id, status, acceptance, n)
    VALUES (new.tenant_id, new.status, CASE new.accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END, 1)
    ON CONFLICT (tenant_id, status, acceptance) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER customers_counted_out AFTER DELETE ON customers BEGIN
    UPDATE customer_counts SET n = n - 1
    WHERE tenant_id = old.tenant_id AND status = old.status
      AND acceptance = CASE old.accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END;
END;

CREATE TRIGGER customers_counted_again AFTER UPDATE OF status, accepted_directly ON customers
WHEN old.status IS NOT new.status OR old.accepted_directly IS NOT new.accepted_directly BEGIN
    UPDATE customer_counts SET n = n - 1
    WHERE tenant_id = old.tenant_id AND status = old.status
      AND acceptance = CASE old.accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END;
    INSERT INTO customer_counts (tenant_id, status, acceptance, n)
    VALUES (new.tenant_id, new.status, CASE new.accepted_directly WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE 'unknown' END, 1)
    ON CONFLICT (tenant_id, status, acceptance) DO UPDATE SET n = n + 1;
END;

-- Searches of three characters or more: any part of `search_text` (company name and
-- domain, lower case), through trigrams. The FTS5 row of a customer is its `search_key`,
-- a number the customer keeps for good (SQLite's own rowid may change with VACUUM).
ALTER TABLE customers ADD COLUMN search_key BIGINT;
UPDATE customers SET search_key = rowid;
CREATE UNIQUE INDEX customers_by_search_key ON customers (search_key);
CREATE VIRTUAL TABLE customers_search USING fts5 (search_text, tokenize = 'trigram');
INSERT INTO customers_search (rowid, search_text) SELECT search_key, search_text FROM customers;

CREATE TRIGGER customers_searchable AFTER INSERT ON customers BEGIN
    UPDATE customers SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM customers)
    WHERE tenant_id = new.tenant_id AND customer_id = new.customer_id;
    INSERT INTO customers_search (rowid, search_text)
    SELECT search_key, new.search_text FROM customers WHERE tenant_id = new.tenant_id AND customer_id = new.customer_id;
END;

CREATE TRIGGER customers_searchable_again AFTER UPDATE OF search_text ON customers
WHEN old.search_text IS NOT new.search_text BEGIN
    DELETE FROM customers_search WHERE rowid = old.search_key;
    INSERT INTO customers_search (rowid, search_text) VALUES (new.search_key, new.search_text);
END;

CREATE TRIGGER customers_unsearchable AFTER DELETE ON customers BEGIN
    DELETE FROM customers_search WHERE rowid = old.search_key;
END;

-- Searches of one or two characters: company names that begin with them, a range of
-- this index (`search_text` begins with the company name).
CREATE INDEX customers_by_search_prefix ON customers (tenant_id, search_text);
