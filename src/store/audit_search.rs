//! Reading the audit log for its page and its CSV (docs/audit-and-export.md): newest
//! first, keyset paged on `(at, id)`, each filter read from an index range that starts at
//! the newest entry (migration 16), never an `OFFSET` and never a count.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use sqlx::Row;

use super::audit::{AUDIT_SELECT, record_of};
use super::{AuditRecord, Store, StoreResult, timestamp};

/// The filters of the audit log page; `None` is any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The partner user who acted (their object id).
    pub actor_oid: Option<String>,
    /// Entries about one of these customers; an empty list matches nothing.
    pub customer_ids: Option<Vec<String>>,
    pub action: Option<String>,
    /// The first and the last day, in UTC, both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Where a page ended: the time and id of its last (oldest) entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: String,
    pub id: String,
}

impl AuditCursor {
    /// The place after this entry.
    pub fn after(r: &AuditRecord) -> Self {
        AuditCursor { at: timestamp(r.at), id: r.id.clone() }
    }
}

/// The most entries one statement reads: a page, or a chunk of the CSV.
const MOST_AT_ONCE: i64 = 1000;

/// The stored time at which a UTC day begins.
fn start_of(day: NaiveDate) -> String {
    timestamp(day.and_time(NaiveTime::MIN).and_utc())
}

/// The statement of [`Store::audit_page`] and its values, in order.
fn page_sql(tenant_id: &str, f: &AuditFilter, after: Option<&AuditCursor>, limit: i64) -> (String, Vec<String>) {
    let mut clauses = vec!["a.tenant_id = $1".to_string()];
    let mut values = vec![tenant_id.to_string()];
    let mut bind = |clause: &str, value: String| {
        values.push(value);
        clause.replace('?', &format!("${}", values.len()))
    };
    if let Some(oid) = &f.actor_oid {
        clauses.push(bind("a.actor_oid = ?", oid.clone()));
    }
    if let Some(action) = &f.action {
        clauses.push(bind("a.action = ?", action.clone()));
    }
    if let Some(ids) = &f.customer_ids {
        let each: Vec<String> = ids.iter().map(|id| bind("?", id.clone())).collect();
        clauses.push(format!("a.customer_id IN ({})", each.join(", ")));
    }
    if let Some(from) = f.from {
        clauses.push(bind("a.at >= ?", start_of(from)));
    }
    if let Some(next_day) = f.to.and_then(|d| d.succ_opt()) {
        clauses.push(bind("a.at < ?", start_of(next_day)));
    }
    if let Some(c) = after {
        // A range on `at` the index reads, then the entries of that same instant by id.
        let up_to = bind("a.at <= ?", c.at.clone());
        let before = bind("a.at < ?", c.at.clone());
        let id = bind("a.id < ?", c.id.clone());
        clauses.push(format!("{up_to} AND ({before} OR {id})"));
    }
    let sql = format!(
        "{AUDIT_SELECT} WHERE {} ORDER BY a.at DESC, a.id DESC LIMIT {}",
        clauses.join(" AND "),
        limit.clamp(1, MOST_AT_ONCE)
    );
    (sql, values)
}

impl Store {
    /// Up to `limit` entries of the tenant matching `filter`, newest first, after the
    /// cursor of the page before.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn audit_page(
        &self,
        tenant_id: &str,
        filter: &AuditFilter,
        after: Option<&AuditCursor>,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        if filter.customer_ids.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let (sql, values) = page_sql(tenant_id, filter, after, limit);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in values {
            q = q.bind(v);
        }
        q.fetch_all(&mut *self.reader().await?).await?.iter().map(|r| record_of(r, tenant_id)).collect()
    }

    /// The partner's users who signed in here, by name, for the page's user filter: a
    /// read of that small table however long the log is.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn audit_people(&self, tenant_id: &str) -> StoreResult<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT oid, name FROM partner_users WHERE tenant_id = $1 ORDER BY name, oid LIMIT 1000")
                .bind(tenant_id)
                .fetch_all(&mut *self.reader().await?)
                .await?;
        rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?))).collect()
    }

    /// The ids of up to `limit` of the tenant's customers whose company name or domain
    /// holds every word of `words` (any case), by company name: what the customer filter
    /// of the audit log reads when it is not given an id.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customer_ids_matching(&self, tenant_id: &str, words: &str, limit: i64) -> StoreResult<Vec<String>> {
        let words: Vec<String> = words
            .split_whitespace()
            .take(8)
            .map(|w| super::customer_list::contains_pattern(&super::customers::search_form(w)))
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let each: Vec<String> = (0..words.len()).map(|i| format!("search_text LIKE ${} ESCAPE '\\'", i + 2)).collect();
        let sql = format!(
            "SELECT customer_id FROM customers WHERE tenant_id = $1 AND {} ORDER BY company_name, customer_id LIMIT {}",
            each.join(" AND "),
            limit.clamp(1, MOST_AT_ONCE)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
        for w in words {
            q = q.bind(w);
        }
        q.fetch_all(&mut *self.reader().await?).await?.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
    }

    /// The company names of those of `ids` that are stored customers of the tenant.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customer_names(&self, tenant_id: &str, ids: &[String]) -> StoreResult<HashMap<String, String>> {
        let mut names = HashMap::new();
        for chunk in ids.chunks(MOST_AT_ONCE as usize) {
            let each: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT customer_id, company_name FROM customers WHERE tenant_id = $1 AND customer_id IN ({})",
                each.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(self.pool()).await? {
                names.insert(r.try_get("customer_id")?, r.try_get("company_name")?);
            }
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan of the page's statement with this filter and a cursor.
    async fn plan(filter: &AuditFilter) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        let after = AuditCursor { at: "2026-01-05T10:00:00.000000Z".into(), id: "m".into() };
        let (sql, values) = page_sql("t1", filter, Some(&after), 51);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for v in values {
            q = q.bind(v);
        }
        let rows = q.fetch_all(store.pool()).await.expect("explain");
        rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn each_filter_reads_an_index_range_in_the_page_order() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5);
        let cases = [
            (AuditFilter::default(), "audit_by_time (tenant_id=? AND at<?)"),
            (
                AuditFilter { actor_oid: Some("u".into()), ..Default::default() },
                "audit_by_actor (tenant_id=? AND actor_oid=? AND at<?)",
            ),
            (
                AuditFilter { action: Some("sign_in".into()), ..Default::default() },
                "audit_by_action (tenant_id=? AND action=? AND at<?)",
            ),
            (
                AuditFilter { customer_ids: Some(vec!["c1".into()]), ..Default::default() },
                "audit_by_customer (tenant_id=? AND customer_id=? AND at<?)",
            ),
            (AuditFilter { from: day, to: day, ..Default::default() }, "audit_by_time (tenant_id=? AND at>? AND at<?)"),
        ];
        for (filter, index) in cases {
            let plan = plan(&filter).await;
            assert!(plan.contains(&format!("SEARCH a USING INDEX {index}")), "{filter:?}:\n{plan}");
            assert!(!plan.contains("SCAN a") && !plan.contains("TEMP B-TREE"), "{filter:?}:\n{plan}");
            assert!(plan.contains("SEARCH c USING INDEX sqlite_autoindex_customers_1"), "{filter:?}:\n{plan}");
        }
    }
}
