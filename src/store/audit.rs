//! The audit log: append-only. The store offers no statement that changes or removes
//! an entry. Never a password or a token in any field.

use chrono::{DateTime, Utc};
use sqlx::Row;

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
        let rows = sqlx::query(
            "SELECT id, at, actor_oid, actor_name, action, customer_id, detail, outcome, pc_code, request_id, correlation_id \
             FROM audit_log WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    id: r.try_get("id")?,
                    at: parse_timestamp(&r.try_get::<String, _>("at")?)?,
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
            })
            .collect()
    }
}
