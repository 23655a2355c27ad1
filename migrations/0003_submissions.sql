-- Every attestation the portal is asked to send, stored before it is sent. The same rows
-- are the delivery queue: attempts, next attempt and a lease, so that two instances
-- never deliver the same one at once and queued work resumes after a restart.
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Empty for a new customer until Partner Center has created it.
    customer_id TEXT NOT NULL,
    -- The person who accepted and the date (empty when the customer accepts in the
    -- Microsoft 365 admin center).
    payload TEXT NOT NULL,
    -- For a new customer: the company, domain and address. Never a password.
    customer_payload TEXT,
    -- The MS-RequestId of the attestation that follows a new customer's creation.
    attest_request_id TEXT,
    -- Enhanced attestation: the attestation id and the link where the customer accepts;
    -- while set and not yet accepted, the submission waits for the customer.
    attestation_id TEXT,
    acceptance_link TEXT,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    ms_request_id TEXT NOT NULL,
    ms_correlation_id TEXT NOT NULL,
    last_error TEXT,
    pc_code TEXT,
    result TEXT,
    created_by_oid TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- The submitter's delegated tokens, needed to deliver as that user; removed once the
    -- submission is delivered or has failed for good.
    access_token TEXT,
    refresh_token TEXT,
    token_expires_at BIGINT,
    CONSTRAINT submissions_idempotency_key UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX submissions_due ON submissions (state, next_attempt_at);
CREATE INDEX submissions_by_customer ON submissions (tenant_id, customer_id, created_at);
