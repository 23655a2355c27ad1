-- When a customer was created with the portal's Add customer. The list marks a customer
-- added here after the last complete read of Partner Center's list (docs/architecture.md,
-- "Customer list"); the next complete read takes it in like any other.
ALTER TABLE customers ADD COLUMN added_here_at TEXT;
