-- Invitation emails the portal generated (docs/invitations.md): what was written, for whom,
-- by whom, what the agent did with it, and whether the customer has accepted. The text
-- never holds a new customer's temporary password: a placeholder stands in its place.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    customer_id TEXT,
    company_name TEXT NOT NULL,
    company_key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    link TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    language TEXT NOT NULL,
    submission_id TEXT,
    with_partner_id TEXT,
    with_partner_name TEXT,
    -- relationship kind: the indirect reseller the customer will have (none: none)
    reseller_id TEXT,
    created_by_oid TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    copied_at TEXT,
    opened_at TEXT,
    sent_at TEXT,
    send_failure TEXT,
    reference_note TEXT NOT NULL,
    accepted_at TEXT,
    accepted_customer_id TEXT
);
-- The list, newest first, and its filters by kind and creator, page by page.
CREATE INDEX invitations_by_created ON invitations (tenant_id, created_at, id);
CREATE INDEX invitations_by_kind ON invitations (tenant_id, kind, created_at, id);
CREATE INDEX invitations_by_creator ON invitations (tenant_id, created_by_oid, created_at, id);
-- A customer's latest invitation, on its page.
CREATE INDEX invitations_by_customer ON invitations (tenant_id, customer_id, created_at);
-- The acceptance-link invitations of a submission, when its customer accepts at the link.
CREATE INDEX invitations_by_submission ON invitations (tenant_id, submission_id);
-- Relationship invitations waiting for their customer, matched by company name.
CREATE INDEX invitations_waiting_by_company ON invitations (tenant_id, company_key, accepted_at);

-- A partner's own wording of each kind of invitation, per language.
CREATE TABLE invitation_templates (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by_name TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, language)
);

-- When the portal first read each customer: a relationship invitation is accepted only by
-- a customer that appeared after it was made (unknown, so never matched, for customers
-- read before this migration).
ALTER TABLE customers ADD COLUMN first_seen_at TEXT;
