-- Partner users seen at sign-in, so that an attestation's userId can be shown by name.
CREATE TABLE partner_users (
    tenant_id TEXT NOT NULL,
    oid TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, oid)
);
