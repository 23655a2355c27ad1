-- Refreshes of a partner's whole portfolio, kept in the database so that every instance
-- shows the same progress, at most one runs per partner at a time, and a run an instance
-- left unfinished (stopped, crashed) is continued by another (docs/refresh.md).
CREATE TABLE refresh_runs (
    run_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    -- running, finished (read to the end, maybe with customers it could not read) or
    -- stopped (gave up: the reason is in stop_reason)
    state TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_by_name TEXT,
    scheduled BIGINT NOT NULL,
    -- customers (reading the customer list), records (the agreement-records listing),
    -- details (per customer), then finished
    phase TEXT NOT NULL,
    -- where the phase goes on: the next page of the list or of the listing
    cursor TEXT,
    -- whether the listing was offered: 1, 0 (not offered: every customer read one by one)
    listing BIGINT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    -- the portal's sentences for what went wrong so far (JSON list, bounded)
    errors TEXT NOT NULL,
    stop_reason TEXT,
    finished_at TEXT,
    -- since when, and from which count, the time left is estimated (reset on takeover)
    pace_since TEXT NOT NULL,
    pace_done BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT
);
-- At most one running refresh per partner, whichever instance starts it.
CREATE UNIQUE INDEX refresh_runs_one_running ON refresh_runs (tenant_id) WHERE state = 'running';
-- The latest run of a partner, and the latest finished one.
CREATE INDEX refresh_runs_by_tenant ON refresh_runs (tenant_id, started_at);

-- The customers a run reads, with what the listing said of each, until it has read them.
CREATE TABLE refresh_items (
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    company_name TEXT NOT NULL,
    domain TEXT NOT NULL,
    relationship TEXT,
    commerce_id TEXT,
    associated_partner_id TEXT,
    -- listed: waiting; done; failed
    state TEXT NOT NULL,
    -- from the listing: whether it mentions the customer, and its latest attestation
    in_listing BIGINT NOT NULL,
    attested BIGINT NOT NULL,
    latest_json TEXT,
    PRIMARY KEY (tenant_id, customer_id)
);
-- The customers still to read, in order, without reading those done.
CREATE INDEX refresh_items_waiting ON refresh_items (tenant_id, state, customer_id);

-- The delegated tokens a partner's refreshes read with: those of the agent who last
-- started one, sealed, kept no longer than that agent's session (kept_until), removed at
-- their sign-out. Also why the last scheduled refresh could not start.
CREATE TABLE refresh_sign_ins (
    tenant_id TEXT PRIMARY KEY,
    user_oid TEXT,
    user_name TEXT,
    access_token TEXT,
    refresh_token TEXT,
    token_expires_at BIGINT,
    kept_until TEXT,
    skipped_at TEXT,
    skipped_reason TEXT
);
