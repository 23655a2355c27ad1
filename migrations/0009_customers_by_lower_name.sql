-- Add customer warns on Review when the partner already has a customer of the same
-- name, in any letter case: this index answers that lookup without reading the other
-- customers (lower() as each database has it, the same in the index and the query).
CREATE INDEX customers_by_lower_name ON customers (tenant_id, lower(company_name));
