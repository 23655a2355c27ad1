//! The audit log: append-only. The store offers no statement that changes or removes
//! an entry (a test below reads the code for one), and the database refuses them too
//! (migration 16, docs/audit-and-export.md). Never a password or a token in any field.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreResult, parse_timestamp, timestamp};

/// What happened, to be written.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub tenant_id: String,
    pub actor_oid: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub customer_id: Option<String>,
    pub detail: Option<String>,
    pub outcome: String,
    pub pc_code: Option<String>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
}

/// An entry as read back.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: String,
    pub at: DateTime<Utc>,
    /// The company name of the entry's customer, when the customer is stored.
    pub customer_name: Option<String>,
    pub entry: AuditEntry,
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %e.tenant_id, action = %e.action), err)]
    pub async fn audit(&self, e: &AuditEntry) -> StoreResult<String> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, at, actor_oid, actor_name, action, customer_id, detail, outcome, pc_code, request_id, correlation_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(&e.tenant_id)
        .bind(timestamp(Utc::now()))
        .bind(e.actor_oid.clone())
        .bind(e.actor_name.clone())
        .bind(&e.action)
        .bind(e.customer_id.clone())
        .bind(e.detail.clone())
        .bind(&e.outcome)
        .bind(e.pc_code.clone())
        .bind(e.request_id.clone())
        .bind(e.correlation_id.clone())
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// The newest entries of one tenant first.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn audit_recent(&self, tenant_id: &str, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        let sql = format!("{AUDIT_SELECT} WHERE a.tenant_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(limit)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(|r| record_of(r, tenant_id)).collect()
    }
}

/// The columns of an entry as read back, with the company name of its customer when the
/// customer is stored (a primary-key lookup per entry read). Statements add `WHERE …`.
pub(super) const AUDIT_SELECT: &str = "SELECT a.id, a.at, a.actor_oid, a.actor_name, a.action, a.customer_id, a.detail, \
     a.outcome, a.pc_code, a.request_id, a.correlation_id, c.company_name FROM audit_log a \
     LEFT JOIN customers c ON c.tenant_id = a.tenant_id AND c.customer_id = a.customer_id";

/// A row of [`AUDIT_SELECT`] of the tenant `tenant_id`.
pub(super) fn record_of(r: &AnyRow, tenant_id: &str) -> StoreResult<AuditRecord> {
    Ok(AuditRecord {
        id: r.try_get("id")?,
        at: parse_timestamp(&r.try_get::<String, _>("at")?)?,
        customer_name: r.try_get("company_name")?,
        entry: AuditEntry {
            tenant_id: tenant_id.to_string(),
            actor_oid: r.try_get("actor_oid")?,
            actor_name: r.try_get("actor_name")?,
            action: r.try_get("action")?,
            customer_id: r.try_get("customer_id")?,
            detail: r.try_get("detail")?,
            outcome: r.try_get("outcome")?,
            pc_code: r.try_get("pc_code")?,
            request_id: r.try_get("request_id")?,
            correlation_id: r.try_get("correlation_id")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `dir`, as one lower-case text with each run of white space
    /// as one space, so that a statement split over lines is found too.
    fn sources(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source").to_lowercase();
                out.push_str(&text.split_whitespace().collect::<Vec<_>>().join(" "));
                out.push('\n');
            }
        }
    }

    #[test]
    fn no_statement_in_the_code_changes_or_removes_an_entry() {
        let mut all = String::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut all);
        assert!(all.contains(&["insert into", "audit_log"].join(" ")), "the scan reads the store");
        // Written in pieces so that this test's own text is not a match.
        for verb in ["update", "delete from", "truncate", "insert or replace into", "replace into"] {
            let statement = [verb, "audit_log"].join(" ");
            assert!(!all.contains(&statement), "found {statement:?} in src/: the audit log is append-only");
        }
        let insert = ["insert into", "audit_log"].join(" ");
        for (at, _) in all.match_indices(&insert) {
            let statement: String = all[at..].chars().take(600).collect();
            assert!(!statement.contains("on conflict"), "an insert into the audit log never updates: {statement}");
        }
    }
}
