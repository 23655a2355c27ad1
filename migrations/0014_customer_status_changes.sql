-- When each customer's status last changed, and what it was before, so that a dashboard
-- lists the customers whose status changed since the last refresh (newest first, a page
-- at a time, through the index).
ALTER TABLE customers ADD COLUMN previous_status TEXT;
ALTER TABLE customers ADD COLUMN status_changed_at TEXT;
CREATE INDEX customers_by_status_change ON customers (tenant_id, status_changed_at, customer_id);
