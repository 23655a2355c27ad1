-- API keys of the readiness API (docs/readiness.md). Only a SHA-256 hash of each key is
-- kept, with a short prefix to recognise it by; the key itself is shown once, at creation.
-- Each key belongs to one partner tenant and reads only that tenant's customers.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_by_oid TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT,
    revoked_by_name TEXT
);
-- Every API request finds its key by the hash: one index lookup.
CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (key_hash);
-- The settings page lists a tenant's keys, newest first.
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);
-- The API's customer list filtered by status, in the order of its keyset paging
-- (company name, then id): each page reads one range of this index.
CREATE INDEX IF NOT EXISTS customers_by_status_and_name ON customers (tenant_id, status, company_name, customer_id);
