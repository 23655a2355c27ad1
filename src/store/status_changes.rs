//! The customers whose status changed, newest change first, a page at a time: for a
//! dashboard's "changed since the last refresh". Read through the index
//! `customers_by_status_change (tenant_id, status_changed_at, customer_id)`, from the
//! newest end, so a page costs the same however many customers the partner has.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};
use crate::domain::EffectiveStatus;

/// A customer whose status changed, with the status before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub customer_id: String,
    pub company_name: String,
    pub status: EffectiveStatus,
    pub previous_status: EffectiveStatus,
    pub changed_at: DateTime<Utc>,
}

/// Where the next page of changes starts: the last change of the page before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeCursor {
    pub changed_at: DateTime<Utc>,
    pub customer_id: String,
}

/// The changes at or after `$2`, before the cursor (`$3`, `$4`; the empty string and
/// `$3` above every time for the first page), newest first.
pub(crate) const CHANGED_SQL: &str = "SELECT customer_id, company_name, status, previous_status, status_changed_at \
     FROM customers WHERE tenant_id = $1 AND status_changed_at >= $2 \
     AND (status_changed_at < $3 OR (status_changed_at = $3 AND customer_id < $4)) \
     ORDER BY status_changed_at DESC, customer_id DESC LIMIT $5";

fn status_of(key: &str) -> StoreResult<EffectiveStatus> {
    EffectiveStatus::parse(key).ok_or_else(|| StoreError::Corrupt(format!("status {key:?}")))
}

impl Store {
    /// Up to `limit` customers whose status changed at or after `since`, newest first,
    /// after `cursor` (the last one of the previous page), and the cursor of the next page
    /// when there may be more.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %limit), err)]
    pub async fn customers_status_changed(
        &self,
        tenant_id: &str,
        since: DateTime<Utc>,
        cursor: Option<&ChangeCursor>,
        limit: i64,
    ) -> StoreResult<(Vec<StatusChange>, Option<ChangeCursor>)> {
        // Above every stored time ("9" sorts after any digit of a year) and every id.
        let (before, before_id) = match cursor {
            Some(c) => (timestamp(c.changed_at), c.customer_id.clone()),
            None => ("9".to_string(), String::new()),
        };
        let rows = sqlx::query(CHANGED_SQL)
            .bind(tenant_id)
            .bind(timestamp(since))
            .bind(before)
            .bind(before_id)
            .bind(limit.max(1))
            .fetch_all(&mut *self.reader().await?)
            .await?;
        let mut changes = Vec::with_capacity(rows.len());
        for r in &rows {
            let previous: Option<String> = r.try_get("previous_status")?;
            changes.push(StatusChange {
                customer_id: r.try_get("customer_id")?,
                company_name: r.try_get("company_name")?,
                status: status_of(&r.try_get::<String, _>("status")?)?,
                previous_status: status_of(previous.as_deref().unwrap_or(""))?,
                changed_at: parse_timestamp(&r.try_get::<String, _>("status_changed_at")?)?,
            });
        }
        let next = (changes.len() as i64 == limit.max(1))
            .then(|| {
                changes.last().map(|c| ChangeCursor { changed_at: c.changed_at, customer_id: c.customer_id.clone() })
            })
            .flatten();
        Ok((changes, next))
    }
}

#[cfg(test)]
mod tests {
    use super::{CHANGED_SQL, Row, Store};

    #[tokio::test]
    async fn a_page_of_changes_reads_the_index_never_the_whole_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        let sql = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {CHANGED_SQL}"));
        let rows = sqlx::query(sql)
            .bind("t1")
            .bind("2026-01-01")
            .bind("9")
            .bind("")
            .bind(20)
            .fetch_all(store.pool())
            .await
            .expect("explain");
        let plan =
            rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n");
        assert!(plan.contains("USING INDEX customers_by_status_change"), "{plan}");
        assert!(!plan.contains("USE TEMP B-TREE"), "no sort of the matches: {plan}");
    }
}
