-- One schema for SQLite and PostgreSQL: only TEXT and BIGINT columns, ids and
-- timestamps as text (RFC 3339, UTC, fixed width so that text order is time order).

CREATE TABLE partner_tenants (
    tenant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    partner_type TEXT NOT NULL,
    type_checked_at TEXT NOT NULL,
    customers_synced_at TEXT
);

CREATE TABLE customers (
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    company_name TEXT NOT NULL,
    domain TEXT NOT NULL,
    search_text TEXT NOT NULL,
    relationship TEXT,
    commerce_id TEXT,
    billing_json TEXT,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
-- The list's order, and the search and status filters without reading every row.
CREATE INDEX customers_by_name ON customers (tenant_id, company_name, customer_id);
CREATE INDEX customers_by_status ON customers (tenant_id, status);

CREATE TABLE direct_acceptance (
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    is_signed BIGINT NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);

CREATE TABLE partner_attestations (
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    date_agreed TEXT NOT NULL,
    user_id TEXT,
    template_id TEXT,
    read_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, position)
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor_oid TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    customer_id TEXT,
    detail TEXT,
    outcome TEXT NOT NULL,
    pc_code TEXT,
    request_id TEXT,
    correlation_id TEXT
);
CREATE INDEX audit_by_tenant_time ON audit_log (tenant_id, at);
