-- The audit log page and its CSV (docs/audit-and-export.md): newest first, 50 a page by
-- keyset on (at, id), each filter an index range read backwards from the newest.
-- The first index replaces audit_by_tenant_time, of which it is an extension.
CREATE INDEX audit_by_time ON audit_log (tenant_id, at, id);
DROP INDEX audit_by_tenant_time;
CREATE INDEX audit_by_actor ON audit_log (tenant_id, actor_oid, at, id);
CREATE INDEX audit_by_customer ON audit_log (tenant_id, customer_id, at, id);
CREATE INDEX audit_by_action ON audit_log (tenant_id, action, at, id);

-- Append-only in the database too: an entry is never changed or removed, whoever asks.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries are never changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries are never removed');
END;
