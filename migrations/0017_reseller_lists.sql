-- Each indirect provider's indirect resellers as Partner Center listed them, and when
-- (docs/sessions.md, "Several instances"). Read again at most every ten minutes; kept in
-- the database so that every instance of the portal uses the same list.
CREATE TABLE reseller_lists (
    tenant_id TEXT PRIMARY KEY,
    resellers TEXT NOT NULL,
    read_at TEXT NOT NULL
);
